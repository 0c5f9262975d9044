import { html, raw } from 'hono/html';
import { STATE_COLOURS } from './layout.ts';

interface GraphTask {
  taskKey: string;
  state: string;
  attempt: number;
  dependsOn?: string[];
}

const NODE_W = 190;
const NODE_H = 40;
const GAP_X = 60;
const GAP_Y = 18;

const escapeXml = (s: string) => s.replace(/[<>&"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/**
 * The run's dependency graph as server-drawn SVG (readable without JavaScript): columns by depth from
 * the roots, one box per task coloured by its state, edges from upstream to downstream. Each box links
 * to the task's row in the table below.
 */
export function dependencyGraph(tasks: GraphTask[]) {
  const byKey = new Map(tasks.map((t) => [t.taskKey, t]));
  const depth = new Map<string, number>();
  const depthOf = (key: string, seen = new Set<string>()): number => {
    if (depth.has(key)) return depth.get(key)!;
    if (seen.has(key)) return 0;
    seen.add(key);
    const ups = (byKey.get(key)?.dependsOn ?? []).filter((d) => byKey.has(d));
    const d = ups.length ? Math.max(...ups.map((u) => depthOf(u, seen))) + 1 : 0;
    depth.set(key, d);
    return d;
  };
  const columns: GraphTask[][] = [];
  for (const task of [...tasks].sort((a, b) => (a.taskKey < b.taskKey ? -1 : 1)))
    (columns[depthOf(task.taskKey)] ??= []).push(task);
  const position = new Map<string, { x: number; y: number }>();
  columns.forEach((column, c) =>
    column.forEach((task, r) =>
      position.set(task.taskKey, { x: 10 + c * (NODE_W + GAP_X), y: 10 + r * (NODE_H + GAP_Y) }),
    ),
  );
  const width = 20 + columns.length * (NODE_W + GAP_X) - GAP_X;
  const height = 20 + Math.max(...columns.map((c) => c.length), 1) * (NODE_H + GAP_Y) - GAP_Y;
  const edges = tasks.flatMap((t) =>
    (t.dependsOn ?? [])
      .filter((d) => position.has(d))
      .map((d) => {
        const from = position.get(d)!;
        const to = position.get(t.taskKey)!;
        return `<path d="M${from.x + NODE_W},${from.y + NODE_H / 2} C${from.x + NODE_W + GAP_X / 2},${from.y + NODE_H / 2} ${to.x - GAP_X / 2},${to.y + NODE_H / 2} ${to.x},${to.y + NODE_H / 2}" fill="none" stroke="#777" stroke-width="1.5" marker-end="url(#arrow)"/>`;
      }),
  );
  const nodes = tasks.map((t) => {
    const { x, y } = position.get(t.taskKey)!;
    const label = t.taskKey.length > 26 ? `${t.taskKey.slice(0, 25)}…` : t.taskKey;
    return `<a href="#task-${encodeURIComponent(t.taskKey)}"><title>${escapeXml(`${t.taskKey}: ${t.state}, attempt ${t.attempt}`)}</title>
      <rect x="${x}" y="${y}" width="${NODE_W}" height="${NODE_H}" rx="5" fill="${STATE_COLOURS[t.state] ?? '#444'}"/>
      <text x="${x + 8}" y="${y + 17}" fill="#fff" font-size="12" font-weight="600">${escapeXml(label)}</text>
      <text x="${x + 8}" y="${y + 32}" fill="#fff" font-size="11">${escapeXml(`${t.state} · attempt ${t.attempt}`)}</text></a>`;
  });
  return html`<svg
    role="img"
    aria-label="Dependency graph of the run's tasks"
    width="${width}"
    height="${height}"
    viewBox="0 0 ${width} ${height}"
  >
    <defs>
      <marker
        id="arrow"
        viewBox="0 0 10 10"
        refX="10"
        refY="5"
        markerWidth="7"
        markerHeight="7"
        orient="auto-start-reverse"
      >
        <path d="M 0 0 L 10 5 L 0 10 z" fill="#777" />
      </marker>
    </defs>
    ${raw(edges.join(''))}${raw(nodes.join(''))}
  </svg>`;
}
