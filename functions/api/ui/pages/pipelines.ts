import type { Checklist } from '../../../../shared/orchestration/pipeline/pipelineChecklist.ts';
import { html } from 'hono/html';
import { badge, type Html, time } from '../layout.ts';
import type { UiApi } from '../uiSession.ts';

/** The runbook's two-minute checklist for a pipeline and day (pipeline-ops spec §6), four panels. */
export async function pipelinePage(api: UiApi, name: string | undefined, date: string): Promise<Html> {
  const { pipelines } = await api.get<{ pipelines: Array<{ name: string; default?: boolean }> }>(
    `${api.ws}/pipelines`,
  );
  if (!pipelines.length) return html`<p>No pipeline is declared in the deployed manifest.</p>`;
  const chosen = name ?? (pipelines.find((p) => p.default) ?? pipelines[0]!).name;
  const c = await api.get<Checklist>(
    `${api.ws}/pipelines/${encodeURIComponent(chosen)}/partitions/${encodeURIComponent(date)}/checklist`,
  );
  return html`<form class="filters" method="get" action="/ui/pipelines">
      <div>
        <label for="pipeline">Pipeline</label>
        <select id="pipeline" name="pipeline">
          ${pipelines.map((p) => html`<option ${p.name === chosen ? 'selected' : ''}>${p.name}</option>`)}
        </select>
      </div>
      <div><label for="date">Day</label><input id="date" name="date" value="${date}" /></div>
      <button type="submit">Show</button>
    </form>
    <p>
      ${c.partition}: ${badge(c.verdict.toUpperCase(), c.verdict === 'ok' ? 'SUCCEEDED' : 'RETRY_WAIT')}
      ${c.verdict}
    </p>
    <section class="card" aria-labelledby="q1">
      <h2 id="q1">1. Did the day's run succeed?</h2>
      <p>
        ${badge(c.latestRun.state)}
        ${c.latestRun.runId ? html`<a href="/ui/runs/${c.latestRun.runId}"><code>${c.latestRun.runId}</code></a> created ${time(c.latestRun.createdAt)}, as of ${c.latestRun.asOf?.mode} ${c.latestRun.asOf?.ts ?? ''}` : 'no run yet'}
      </p>
    </section>
    <section class="card" aria-labelledby="q2">
      <h2 id="q2">2. What failed, why, and how many retries?</h2>
      ${
        c.failingTasks.length
          ? html`<table>
              <thead>
                <tr>
                  <th scope="col">Task</th>
                  <th scope="col">Class</th>
                  <th scope="col">Attempts</th>
                  <th scope="col">Error</th>
                  <th scope="col">Next step</th>
                </tr>
              </thead>
              <tbody>
                ${c.failingTasks.map(
                  (t) =>
                    html`<tr>
                      <th scope="row">${t.taskKey}</th>
                      <td><strong>${t.failureClass}</strong> · category ${t.retryCategory}</td>
                      <td>
                        ${t.attempt} of
                        ${t.maxAttempts}${t.nextAttemptAt ? html`, next ${time(t.nextAttemptAt)}` : ''}
                      </td>
                      <td class="error">${t.errorMessage}</td>
                      <td><code>${t.triageCommand}</code></td>
                    </tr>`,
                )}
              </tbody>
            </table>`
          : html`<p>Nothing failed.</p>`
      }
    </section>
    <section class="card" aria-labelledby="q3">
      <h2 id="q3">3. Do manifests exist for every step?</h2>
      <ul>
        ${c.manifests.map((m) => html`<li>${m.present ? '✓' : '✗ missing'} ${m.assetKey}${m.status ? ` (${m.status})` : ''} ${m.present && c.latestRun.runId ? html`<a href="/ui/manifests?${new URLSearchParams({ asset: m.assetKey, run: c.latestRun.runId, partition: c.partition })}">manifest</a>` : ''}</li>`)}
      </ul>
    </section>
    <section class="card" aria-labelledby="q4">
      <h2 id="q4">4. Were the current pointers updated?</h2>
      ${
        c.pointers.length
          ? html`<ul>
              ${c.pointers.map((p) => html`<li>${p.assetKey}: <strong>${p.publishStatus}</strong>, run ${p.currentRunId ?? '—'} (sequence ${p.sequence})</li>`)}
            </ul>`
          : html`<p class="muted">The pipeline publishes no pointers.</p>`
      }
    </section>`;
}
