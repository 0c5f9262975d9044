import { html } from 'hono/html';
import { dependencyGraph } from '../dependencyGraph.ts';
import { badge, type Html, time } from '../layout.ts';
import type { UiApi } from '../uiSession.ts';
import { PUBLIC_RUN_STATES } from '../../../../shared/orchestration/run/publicStates.ts';

const STATES = ['', ...PUBLIC_RUN_STATES];

interface RunItem {
  runId: string;
  state: string;
  createdAt: string;
  completedAt?: string;
  taskCount: number;
  tasksSucceeded: number;
  tasksFailed: number;
  parentRunId?: string;
}

/** Runs, newest first, filtered by state and paginated with the API's cursor. */
export async function runsPage(api: UiApi, query: { state?: string; cursor?: string }): Promise<Html> {
  const params = new URLSearchParams({
    limit: '25',
    ...(query.state ? { state: query.state } : {}),
    ...(query.cursor ? { cursor: query.cursor } : {}),
  });
  const { runs, nextCursor } = await api.get<{ runs: RunItem[]; nextCursor?: string }>(
    `${api.ws}/runs?${params}`,
  );
  return html`<form class="filters" method="get" action="/ui/runs">
      <div>
        <label for="state">State</label>
        <select id="state" name="state">
          ${STATES.map((s) => html`<option value="${s}" ${s === (query.state ?? '') ? 'selected' : ''}>${s || 'any'}</option>`)}
        </select>
      </div>
      <button type="submit">Filter</button>
    </form>
    <table>
      <caption class="muted" style="text-align:left">
        ${runs.length} run(s) on this page
      </caption>
      <thead>
        <tr>
          <th scope="col">Run</th>
          <th scope="col">State</th>
          <th scope="col">Created</th>
          <th scope="col">Completed</th>
          <th scope="col">Tasks</th>
        </tr>
      </thead>
      <tbody>
        ${runs.map(
          (r) =>
            html`<tr>
              <td>
                <a href="/ui/runs/${r.runId}"><code>${r.runId}</code></a
                >${r.parentRunId ? html`<br /><span class="muted">rerun of ${r.parentRunId}</span>` : ''}
              </td>
              <td>${badge(r.state)}</td>
              <td>${time(r.createdAt)}</td>
              <td>${time(r.completedAt)}</td>
              <td>
                ${r.tasksSucceeded}/${r.taskCount}
                succeeded${r.tasksFailed ? html`, <span class="error">${r.tasksFailed} failed</span>` : ''}
              </td>
            </tr>`,
        )}
      </tbody>
    </table>
    ${nextCursor ? html`<a href="/ui/runs?${new URLSearchParams({ ...(query.state ? { state: query.state } : {}), cursor: nextCursor })}">Older runs →</a>` : ''}`;
}

interface TaskItem {
  taskKey: string;
  assetKey?: string;
  partitionKey?: string;
  state: string;
  attempt: number;
  maxAttempts?: number;
  dependsOn?: string[];
  startedAt?: string;
  completedAt?: string;
  errorMessage?: string;
  errorCategory?: string;
  failureClass?: string;
  retryCategory?: string;
  retryNotBefore?: string;
  deltaTable?: string;
  deltaVersion?: number;
  deltaPartition?: string;
  executionLineageRef?: string;
  retryAttribution?: {
    retries: number;
    reason: string;
    previousAttempt?: { attempt: number; errorCategory?: string; failureClass?: string; message?: string };
  };
  skipAttribution?: { upstreamTaskKey: string; upstreamResolution: string };
}

/** One run: its graph, and per task the attempts, errors, attribution and lineage to Delta versions. */
export async function runDetailPage(api: UiApi, runId: string): Promise<Html> {
  const run = await api.get<{
    runId: string;
    state: string;
    createdAt: string;
    completedAt?: string;
    runKey?: string;
    labels: Record<string, string>;
    parentRunId?: string;
    rerunReason?: string;
    tasks: TaskItem[];
    taskCounts: Record<string, number>;
  }>(`${api.ws}/runs/${encodeURIComponent(runId)}`);
  return html`<div class="card">
      <dl>
        <dt>State</dt>
        <dd>${badge(run.state)}</dd>
        <dt>Created</dt>
        <dd>${time(run.createdAt)}</dd>
        <dt>Completed</dt>
        <dd>${time(run.completedAt)}</dd>
        ${
          run.runKey
            ? html`<dt>Run key</dt>
                <dd><code>${run.runKey}</code></dd>`
            : ''
        }
        ${
          run.parentRunId
            ? html`<dt>Rerun of</dt>
                <dd><a href="/ui/runs/${run.parentRunId}">${run.parentRunId}</a> (${run.rerunReason})</dd>`
            : ''
        }
        <dt>Tasks</dt>
        <dd>
          ${Object.entries(run.taskCounts)
            .filter(([, n]) => n)
            .map(([k, n]) => `${k} ${n}`)
            .join(' · ')}
        </dd>
      </dl>
    </div>
    <h2>Dependency graph</h2>
    ${dependencyGraph(run.tasks)}
    <h2>Tasks</h2>
    <table>
      <thead>
        <tr>
          <th scope="col">Task</th>
          <th scope="col">State</th>
          <th scope="col">Attempts</th>
          <th scope="col">Failure</th>
          <th scope="col">Why this attempt / skip</th>
          <th scope="col">Output</th>
        </tr>
      </thead>
      <tbody>
        ${run.tasks.map(
          (t) =>
            html`<tr id="task-${encodeURIComponent(t.taskKey)}">
              <th scope="row">
                <code>${t.taskKey}</code
                >${t.partitionKey ? html`<br /><a href="/ui/partitions?asset=${encodeURIComponent(t.assetKey ?? t.taskKey)}">${t.partitionKey}</a>` : ''}
              </th>
              <td>
                ${badge(t.state)}${t.retryNotBefore ? html`<br /><span class="muted">retry at ${time(t.retryNotBefore)}</span>` : ''}
              </td>
              <td>${t.attempt}${t.maxAttempts ? ` of ${t.maxAttempts}` : ''}</td>
              <td>
                ${
                  t.state === 'FAILED' || t.errorMessage
                    ? html`<strong>${t.failureClass ?? t.errorCategory ?? 'error'}</strong
                        >${t.errorCategory && t.failureClass ? html` <span class="muted">(${t.errorCategory})</span>` : ''}${t.retryCategory ? html` · retry category <strong>${t.retryCategory}</strong>` : ''}<br /><span
                          class="error"
                          >${t.errorMessage ?? ''}</span
                        >`
                    : ''
                }
              </td>
              <td>
                ${
                  t.retryAttribution
                    ? html`retry ${t.retryAttribution.retries}:
                      ${t.retryAttribution.reason}${t.retryAttribution.previousAttempt ? html`<br /><span class="muted">attempt ${t.retryAttribution.previousAttempt.attempt}: ${t.retryAttribution.previousAttempt.failureClass ?? t.retryAttribution.previousAttempt.errorCategory} — ${t.retryAttribution.previousAttempt.message}</span>` : ''}`
                    : ''
                }${t.skipAttribution ? html`skipped: upstream <a href="#task-${encodeURIComponent(t.skipAttribution.upstreamTaskKey)}">${t.skipAttribution.upstreamTaskKey}</a> ${t.skipAttribution.upstreamResolution}` : ''}
              </td>
              <td>
                ${
                  t.deltaTable
                    ? html`<a
                          href="/ui/delta/by-name/${encodeURIComponent(t.deltaTable)}?version=${t.deltaVersion}"
                          >${t.deltaTable} v${t.deltaVersion}</a
                        >${t.deltaPartition ? html`<br /><span class="muted">${t.deltaPartition}</span>` : ''}`
                    : ''
                }${['SUCCEEDED', 'FAILED', 'SKIPPED', 'CANCELLED'].includes(t.state) ? html`<br /><a href="/ui/manifests?${new URLSearchParams({ asset: t.assetKey ?? t.taskKey, run: runId, ...(t.partitionKey ? { partition: t.partitionKey } : {}) })}">step manifest</a>` : ''}
              </td>
            </tr>`,
        )}
      </tbody>
    </table>
    ${
      Object.keys(run.labels ?? {}).length
        ? html`<h2>Labels</h2>
            <pre>${JSON.stringify(run.labels, null, 2)}</pre>`
        : ''
    }`;
}

/** One step manifest (or one attempt's), as stored (pipeline-ops spec §2.3), with links to every attempt. */
export async function manifestPage(
  api: UiApi,
  query: { asset?: string; run?: string; partition?: string; attempt?: string },
): Promise<Html> {
  const link = (attempt?: number) =>
    `/ui/manifests?${new URLSearchParams({
      asset: query.asset ?? '',
      run: query.run ?? '',
      ...(query.partition ? { partition: query.partition } : {}),
      ...(attempt ? { attempt: String(attempt) } : {}),
    })}`;
  const params = new URLSearchParams({
    assetKey: query.asset ?? '',
    runId: query.run ?? '',
    ...(query.partition ? { partitionKey: query.partition } : {}),
    ...(query.attempt ? { attempt: query.attempt } : {}),
  });
  const manifest = await api.get<{
    kind: string;
    status: string;
    attempt: number;
    error?: { failureClass: string; retryCategory: string; message: string };
    checks: Array<{ name: string; status: string }>;
  }>(`${api.ws}/manifests/step?${params}`);
  const state = manifest.status === 'success' ? 'SUCCEEDED' : manifest.status.toUpperCase();
  return html`<p>
      <a href="/ui/runs/${query.run}">← run ${query.run}</a> · ${query.asset} ${query.partition ?? ''} ·
      ${manifest.kind} ${badge(state)} · <a href="${link()}">step</a>
      ${Array.from({ length: manifest.attempt }, (_, i) => html` · <a href="${link(i + 1)}">attempt ${i + 1}</a>`)}
    </p>
    <div class="card">
      <dl>
        ${
          manifest.error
            ? html`<dt>Failure</dt>
                <dd>
                  <strong>${manifest.error.failureClass}</strong> · retry category
                  ${manifest.error.retryCategory}
                </dd>
                <dt>Message</dt>
                <dd class="error">${manifest.error.message}</dd>`
            : ''
        }
        <dt>Checks</dt>
        <dd>
          ${manifest.checks.length ? manifest.checks.map((c) => html`${c.name} ${c.status}; `) : 'none reported'}
        </dd>
      </dl>
    </div>
    <pre style="max-height:none">${JSON.stringify(manifest, null, 2)}</pre>`;
}
