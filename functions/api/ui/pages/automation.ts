import { html } from 'hono/html';
import { badge, type Html, time } from '../layout.ts';
import type { UiApi } from '../uiSession.ts';

interface Backfill {
  backfillId: string;
  assetSelection: string[];
  partitionSelector: Record<string, unknown>;
  state: string;
  stateVersion: number;
  createdAt: string;
  maxConcurrentRuns: number;
  chunkSize: number;
  parentBackfillId?: string;
  chunkCounts: { total: number; pending: number; running: number; succeeded: number; failed: number };
}

const selectorText = (s: Record<string, unknown>) =>
  s.type === 'range'
    ? `${s.start} … ${s.end}`
    : s.type === 'filter'
      ? `${(s.filters as Record<string, string>).start} … ${(s.filters as Record<string, string>).end}`
      : `${(s.partitions as string[]).length} partition(s)`;

function progress(counts: Backfill['chunkCounts']) {
  const pct = (n: number) => (counts.total ? (100 * n) / counts.total : 0);
  return html`<div
      class="progress"
      role="progressbar"
      aria-valuemin="0"
      aria-valuemax="${counts.total}"
      aria-valuenow="${counts.succeeded + counts.failed}"
      aria-label="chunks done"
    >
      <span style="width:${pct(counts.succeeded)}%;background:#1b7f3b"></span
      ><span style="width:${pct(counts.failed)}%;background:#b3261e"></span
      ><span style="width:${pct(counts.running)}%;background:#1f5fbf"></span>
    </div>
    <span class="muted"
      >${counts.succeeded} ok · ${counts.failed} failed · ${counts.running} running · ${counts.pending}
      pending of ${counts.total}</span
    >`;
}

/** What an operator can do in each state (a CANCELING backfill only waits for its runs). */
const ACTIONS: Record<string, string[]> = {
  RUNNING: ['pause', 'cancel'],
  PAUSED: ['resume', 'cancel'],
  FAILED: ['retry-failed'],
};

function actions(b: Backfill) {
  return (ACTIONS[b.state] ?? []).map(
    (action) =>
      html`<form class="inline" method="post" action="/ui/backfills/${b.backfillId}/${action}">
        <button type="submit" aria-label="${action} backfill ${b.backfillId}">${action}</button>
      </form> `,
  );
}

/** Backfills with progress bars and their pause / resume / cancel / retry-failed buttons. */
export async function backfillsPage(api: UiApi): Promise<Html> {
  const { backfills } = await api.get<{ backfills: Backfill[] }>(`${api.ws}/backfills?limit=100`);
  if (!backfills.length)
    return html`<p>No backfills yet. Start one with <code>POST ${api.ws}/backfills</code>.</p>`;
  return html`<table>
    <thead>
      <tr>
        <th scope="col">Backfill</th>
        <th scope="col">Asset and partitions</th>
        <th scope="col">State</th>
        <th scope="col">Progress</th>
        <th scope="col">Created</th>
        <th scope="col">Actions</th>
      </tr>
    </thead>
    <tbody>
      ${backfills.map(
        (b) =>
          html`<tr>
            <td>
              <a href="/ui/backfills/${b.backfillId}"><code>${b.backfillId}</code></a
              >${b.parentBackfillId ? html`<br /><span class="muted">retry of ${b.parentBackfillId}</span>` : ''}
            </td>
            <td>
              ${b.assetSelection.join(', ')}<br /><span class="muted"
                >${selectorText(b.partitionSelector)}, ${b.chunkSize} per chunk, ≤ ${b.maxConcurrentRuns} at
                once</span
              >
            </td>
            <td>${badge(b.state)}</td>
            <td>${progress(b.chunkCounts)}</td>
            <td>${time(b.createdAt)}</td>
            <td>${actions(b)}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

/** One backfill's chunks and the runs they started. */
export async function backfillDetailPage(api: UiApi, id: string): Promise<Html> {
  const b = await api.get<Backfill>(`${api.ws}/backfills/${encodeURIComponent(id)}`);
  const { chunks } = await api.get<{
    chunks: Array<{
      chunkIndex: number;
      state: string;
      partitionKeys: string[];
      runId?: string;
      error?: string;
    }>;
  }>(`${api.ws}/backfills/${encodeURIComponent(id)}/chunks?limit=200`);
  return html`<div class="card">
      ${badge(b.state)} ${progress(b.chunkCounts)}
      <p>${actions(b)}</p>
    </div>
    <table>
      <thead>
        <tr>
          <th scope="col">Chunk</th>
          <th scope="col">Partitions</th>
          <th scope="col">State</th>
          <th scope="col">Run</th>
        </tr>
      </thead>
      <tbody>
        ${chunks.map(
          (c) =>
            html`<tr>
              <th scope="row">${c.chunkIndex}</th>
              <td>${c.partitionKeys.join(', ')}</td>
              <td>${badge(c.state)}${c.error ? html`<br /><span class="error">${c.error}</span>` : ''}</td>
              <td>${c.runId ? html`<a href="/ui/runs/${c.runId}"><code>${c.runId}</code></a>` : '—'}</td>
            </tr>`,
        )}
      </tbody>
    </table>`;
}

interface Schedule {
  scheduleId: string;
  cronExpression: string;
  timezone: string;
  enabled: boolean;
  assetSelection: string[];
  lastScheduledFor?: string;
  partitionFromTick?: string;
}

/** Schedules with their most recent ticks (skipped and failed ones with their reason). */
export async function schedulesPage(api: UiApi): Promise<Html> {
  const { schedules } = await api.get<{ schedules: Schedule[] }>(`${api.ws}/schedules?limit=200`);
  if (!schedules.length) return html`<p>No schedules.</p>`;
  const ticks = await Promise.all(
    schedules.map((s) =>
      api.get<{
        ticks: Array<{
          tickId: string;
          scheduledFor: string;
          status: string;
          runId?: string;
          skipReason?: string;
          errorMessage?: string;
        }>;
      }>(`${api.ws}/schedules/${encodeURIComponent(s.scheduleId)}/ticks?limit=5`),
    ),
  );
  return html`${schedules.map(
    (s, i) =>
      html`<section class="card" aria-labelledby="s-${s.scheduleId}">
        <h2 id="s-${s.scheduleId}">${s.scheduleId} ${badge(s.enabled ? 'ACTIVE' : 'PAUSED')}</h2>
        <p>
          <code>${s.cronExpression}</code> in ${s.timezone} →
          ${s.assetSelection.join(', ')}${s.partitionFromTick ? ` (partition ${s.partitionFromTick} from the tick's day)` : ''}
        </p>
        <table>
          <thead>
            <tr>
              <th scope="col">Scheduled for</th>
              <th scope="col">Status</th>
              <th scope="col">Run or reason</th>
            </tr>
          </thead>
          <tbody>
            ${
              ticks[i]!.ticks.length
                ? ticks[i]!.ticks.map(
                    (t) =>
                      html`<tr>
                        <td>${time(t.scheduledFor)}</td>
                        <td>${badge(t.status)}</td>
                        <td>
                          ${t.runId ? html`<a href="/ui/runs/${t.runId}"><code>${t.runId}</code></a>` : html`<span class="muted">${t.skipReason ?? t.errorMessage ?? ''}</span>`}
                        </td>
                      </tr>`,
                  )
                : html`<tr>
                    <td colspan="3" class="muted">no ticks yet</td>
                  </tr>`
            }
          </tbody>
        </table>
      </section>`,
  )}`;
}

/** Sensors with their latest evaluations. */
export async function sensorsPage(api: UiApi): Promise<Html> {
  const { sensors } = await api.get<{
    sensors: Array<{
      sensorId: string;
      kind: string;
      status: string;
      cursor?: string;
      lastEvaluationAt?: string;
      stateVersion: number;
    }>;
  }>(`${api.ws}/sensors`);
  if (!sensors.length) return html`<p>No sensors are declared in the deployed manifest.</p>`;
  const evals = await Promise.all(
    sensors.map((s) =>
      api.get<{
        evals: Array<{
          evalId: string;
          evaluatedAt: string;
          status: string;
          runRequests: Array<{ runId?: string; runKey: string }>;
          errorMessage?: string;
        }>;
      }>(`${api.ws}/sensors/${encodeURIComponent(s.sensorId)}/evals?limit=10`),
    ),
  );
  return html`${sensors.map(
    (s, i) =>
      html`<section class="card" aria-labelledby="sn-${s.sensorId}">
        <h2 id="sn-${s.sensorId}">${s.sensorId} ${badge(s.status)}</h2>
        <p>
          ${s.kind} sensor · cursor <code>${s.cursor ?? '—'}</code> · last evaluated
          ${time(s.lastEvaluationAt)} · version ${s.stateVersion}
        </p>
        <table>
          <thead>
            <tr>
              <th scope="col">Evaluated</th>
              <th scope="col">Status</th>
              <th scope="col">Runs</th>
            </tr>
          </thead>
          <tbody>
            ${
              evals[i]!.evals.length
                ? evals[i]!.evals.map(
                    (e) =>
                      html`<tr>
                        <td>${time(e.evaluatedAt)}<br /><span class="muted">${e.evalId}</span></td>
                        <td>
                          ${badge(e.status)}${e.errorMessage ? html`<br /><span class="error">${e.errorMessage}</span>` : ''}
                        </td>
                        <td>
                          ${e.runRequests.map((r) => (r.runId ? html`<a href="/ui/runs/${r.runId}"><code>${r.runId}</code></a> ` : html`<code>${r.runKey}</code> `))}
                        </td>
                      </tr>`,
                  )
                : html`<tr>
                    <td colspan="3" class="muted">no evaluations yet</td>
                  </tr>`
            }
          </tbody>
        </table>
      </section>`,
  )}`;
}
