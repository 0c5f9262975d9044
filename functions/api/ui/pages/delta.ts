import { html } from 'hono/html';
import { type Html, time } from '../layout.ts';
import type { UiApi } from '../uiSession.ts';

interface Table {
  table_id: string;
  name: string;
  location: string;
  latest_version: number;
  partition_columns?: string[];
  created_at?: string;
}

/** Delta tables of the workspace with their latest committed version. */
export async function deltaTablesPage(api: UiApi): Promise<Html> {
  const { tables } = await api.get<{ tables: Table[] }>('/api/v1/delta/tables');
  if (!tables.length) return html`<p>No Delta tables yet.</p>`;
  return html`<table>
    <thead>
      <tr>
        <th scope="col">Table</th>
        <th scope="col">Latest version</th>
        <th scope="col">Location</th>
      </tr>
    </thead>
    <tbody>
      ${tables.map(
        (t) =>
          html`<tr>
            <th scope="row"><a href="/ui/delta/${t.table_id}">${t.name}</a></th>
            <td>v${t.latest_version}</td>
            <td><code>${t.location}</code></td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

/**
 * One table: the coordinator's state (latest version, any in-flight commit) and its versions, each with
 * the run and partition that wrote it (from the partitions' lineage), so "which table version did it
 * produce" reads both ways.
 */
export async function deltaTablePage(api: UiApi, tableId: string, highlight?: number): Promise<Html> {
  const table = await api.get<Table>(`/api/v1/delta/tables/${encodeURIComponent(tableId)}`);
  const coordinator = await api.get<{ latest_version: number; inflight: Record<string, unknown> | null }>(
    `/api/v1/delta/tables/${encodeURIComponent(tableId)}/coordinator`,
  );
  const writers = new Map<number, Array<{ partitionKey: string; runId?: string; at?: string }>>();
  const partitions = await api
    .get<{
      partitions: Array<{
        partitionKey: string;
        deltaTable?: string;
        deltaVersion?: number;
        lastMaterializationRunId?: string;
        lastMaterializationAt?: string;
      }>;
    }>(`${api.ws}/partitions?assetKey=${encodeURIComponent(table.name)}&limit=200`)
    .catch(() => ({ partitions: [] }));
  for (const p of partitions.partitions)
    if (p.deltaTable === table.name && p.deltaVersion !== undefined)
      writers.set(p.deltaVersion, [
        ...(writers.get(p.deltaVersion) ?? []),
        { partitionKey: p.partitionKey, runId: p.lastMaterializationRunId, at: p.lastMaterializationAt },
      ]);
  const versions = Array.from(
    { length: Math.min(coordinator.latest_version + 1, 50) },
    (_, i) => coordinator.latest_version - i,
  );
  return html`<div class="card">
      <dl>
        <dt>Name</dt>
        <dd>${table.name}</dd>
        <dt>Table id</dt>
        <dd><code>${table.table_id}</code></dd>
        <dt>Location</dt>
        <dd><code>${table.location}</code></dd>
        <dt>Latest version</dt>
        <dd>v${coordinator.latest_version}</dd>
        <dt>In-flight commit</dt>
        <dd>
          ${coordinator.inflight ? html`<pre>${JSON.stringify(coordinator.inflight, null, 2)}</pre>` : 'none'}
        </dd>
      </dl>
    </div>
    <h2>Versions</h2>
    <table>
      <thead>
        <tr>
          <th scope="col">Version</th>
          <th scope="col">Written for</th>
        </tr>
      </thead>
      <tbody>
        ${versions.map(
          (v) =>
            html`<tr id="v${v}" ${v === highlight ? html`style="outline:3px solid #fca311"` : ''}>
              <th scope="row">
                v${v}${v === highlight ? html` <span class="badge" style="background:#14213d">selected</span>` : ''}
              </th>
              <td>
                ${(writers.get(v) ?? []).map((w) => html`${w.partitionKey} by ${w.runId ? html`<a href="/ui/runs/${w.runId}"><code>${w.runId}</code></a>` : '—'} ${time(w.at)}<br />`)}${
                  v === 0
                    ? html`<span class="muted">table created</span>`
                    : writers.has(v)
                      ? ''
                      : html`<span class="muted"
                          >superseded by a later write of its partition, or written outside a run</span
                        >`
                }
              </td>
            </tr>`,
        )}
      </tbody>
    </table>`;
}
