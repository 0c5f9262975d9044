import { html, raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';

export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

const NAV: Array<[string, string]> = [
  ['/ui/runs', 'Runs'],
  ['/ui/pipelines', 'Pipelines'],
  ['/ui/partitions', 'Partitions'],
  ['/ui/backfills', 'Backfills'],
  ['/ui/schedules', 'Schedules'],
  ['/ui/sensors', 'Sensors'],
  ['/ui/delta', 'Delta tables'],
  ['/ui/registry', 'Contracts'],
];

/** States and the colours they are drawn in (text on them stays above 4.5:1 contrast). */
export const STATE_COLOURS: Record<string, string> = {
  SUCCEEDED: '#1b7f3b',
  FAILED: '#b3261e',
  SKIPPED: '#6b6b6b',
  CANCELLED: '#6b6b6b',
  CANCELLING: '#8a5a00',
  CANCELED: '#6b6b6b',
  CANCELING: '#8a5a00',
  RUNNING: '#1f5fbf',
  QUEUED: '#5b4db3',
  PENDING: '#5b4db3',
  RETRY_WAIT: '#8a5a00',
  PAUSED: '#8a5a00',
  PLANNED: '#5b4db3',
  TRIGGERED: '#1b7f3b',
  NO_NEW_DATA: '#6b6b6b',
  ERROR: '#b3261e',
  ACTIVE: '#1b7f3b',
};

/** A state as a coloured label; `colourOf` when the label is not itself a state (a classification…). */
export const badge = (state: unknown, colourOf: unknown = state) =>
  html`<span class="badge" style="background:${STATE_COLOURS[String(colourOf)] ?? '#444'}"
    >${String(state)}</span
  >`;

/** A UTC time with a relative hint; the full value stays in the `datetime` attribute. */
export function time(value: unknown, now = Date.now()) {
  if (typeof value !== 'string' || !value) return html`<span class="muted">—</span>`;
  const at = Date.parse(value);
  const seconds = Math.round((now - at) / 1000);
  const abs = Math.abs(seconds);
  const unit =
    abs < 90
      ? `${abs} s`
      : abs < 5400
        ? `${Math.round(abs / 60)} min`
        : abs < 172800
          ? `${Math.round(abs / 3600)} h`
          : `${Math.round(abs / 86400)} d`;
  const relative = seconds >= 0 ? `${unit} ago` : `in ${unit}`;
  return html`<time datetime="${value}"
      >${value
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z')
        .replace('Z', ' UTC')}</time
    >
    <span class="muted">(${relative})</span>`;
}

/** The page frame: landmarks, one h1, the navigation with the current page marked. */
export function layout(title: string, current: string, body: Html, workspace?: string) {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title} · Arco</title>
        <style>
          ${raw(STYLE)}
        </style>
      </head>
      <body>
        <header>
          <a class="brand" href="/ui/runs">Arco</a>
          <nav aria-label="Main">
            <ul>
              ${NAV.map(
                ([href, label]) =>
                  html`<li>
                    <a href="${href}" ${current === href ? raw('aria-current="page"') : ''}>${label}</a>
                  </li>`,
              )}
            </ul>
          </nav>
          ${
            workspace
              ? html`<form method="post" action="/ui/logout" class="who">
                  <span>workspace <strong>${workspace}</strong></span
                  ><button type="submit">Sign out</button>
                </form>`
              : ''
          }
        </header>
        <main id="main">
          <h1>${title}</h1>
          ${body}
        </main>
      </body>
    </html>`;
}

const STYLE = `
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1a1a1a;background:#fafafa}
header{display:flex;align-items:center;gap:1.5rem;background:#14213d;color:#fff;padding:.5rem 1.25rem;flex-wrap:wrap}
header a{color:#fff}
.brand{font-weight:700;font-size:1.1rem;text-decoration:none}
nav ul{list-style:none;display:flex;gap:1rem;margin:0;padding:0;flex-wrap:wrap}
nav a{text-decoration:none;padding:.25rem .1rem}
nav a[aria-current=page]{border-bottom:3px solid #fca311}
.who{margin-left:auto;display:flex;gap:.75rem;align-items:center}
main{padding:1rem 1.25rem;max-width:1400px}
h1{font-size:1.5rem;margin:.25rem 0 1rem}
h2{font-size:1.15rem;margin:1.5rem 0 .5rem}
table{border-collapse:collapse;width:100%;background:#fff;margin-bottom:1rem}
th,td{border-bottom:1px solid #ddd;padding:.4rem .5rem;text-align:left;vertical-align:top}
th{background:#eef0f4;font-weight:600}
.badge{color:#fff;border-radius:3px;padding:.05rem .45rem;font-size:.8rem;font-weight:600;white-space:nowrap}
.muted{color:#595959}
.error{color:#8c1d18}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.85rem}
pre{background:#fff;border:1px solid #ddd;padding:.5rem;overflow:auto;max-height:480px}
a{color:#0b4ea2}
button{font:inherit;padding:.25rem .7rem;border:1px solid #14213d;background:#fff;color:#14213d;border-radius:3px;cursor:pointer}
button.primary{background:#14213d;color:#fff}
form.inline{display:inline}
label{font-weight:600;margin-right:.35rem}
input,select{font:inherit;padding:.2rem .35rem}
.filters{display:flex;gap:1rem;align-items:end;margin-bottom:1rem;flex-wrap:wrap}
.progress{background:#e3e6ea;border-radius:3px;height:14px;width:220px;display:flex;overflow:hidden}
.progress span{display:block;height:100%}
.heatmap{width:auto}
.heatmap td{padding:0;border:1px solid #fff;min-width:22px;height:22px;text-align:center}
.heatmap td a{display:block;width:100%;height:22px;color:#fff;text-decoration:none;font-size:.7rem;line-height:22px}
.legend span{display:inline-block;margin-right:1rem}
.diff{display:grid;grid-template-columns:1fr 1fr;gap:1rem}
.card{background:#fff;border:1px solid #ddd;padding:.75rem 1rem;margin-bottom:1rem}
.card h2{margin-top:.25rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0}
dt{font-weight:600}
`;
