import { html } from 'hono/html';
import { badge, type Html, time } from '../layout.ts';
import type { UiApi } from '../uiSession.ts';

const BASE = '/data-contract-registry/v1';
const LAYERS = ['extraction', 'raw', 'gold', 'activation'];

/** Datasets of the contract registry. */
export async function datasetsPage(api: UiApi): Promise<Html> {
  const { items, total } = await api.get<{
    items: Array<{
      dataset_id: string;
      namespace: string;
      name: string;
      owner: string;
      status: string;
      created_at: string;
    }>;
    total: number;
  }>(`${BASE}/datasets?page_size=200`);
  if (!items.length) return html`<p>No datasets registered.</p>`;
  return html`<p class="muted">${total} dataset(s)</p>
    <table>
      <thead>
        <tr>
          <th scope="col">Dataset</th>
          <th scope="col">Owner</th>
          <th scope="col">Status</th>
          <th scope="col">Created</th>
        </tr>
      </thead>
      <tbody>
        ${items.map(
          (d) =>
            html`<tr>
              <th scope="row"><a href="/ui/registry/${d.dataset_id}">${d.namespace}.${d.name}</a></th>
              <td>${d.owner}</td>
              <td>${d.status}</td>
              <td>${time(d.created_at)}</td>
            </tr>`,
        )}
      </tbody>
    </table>`;
}

interface VersionItem {
  version: number;
  is_current: boolean;
  classification: string;
  breaking: boolean;
  created_at: string;
  created_by: string;
  promoted_at: string | null;
}

/** A dataset's four layers: current version, the version timeline, and a diff picker. */
export async function datasetPage(api: UiApi, datasetId: string): Promise<Html> {
  const dataset = await api.get<{ namespace: string; name: string; owner: string; steward: string | null }>(
    `${BASE}/datasets/${encodeURIComponent(datasetId)}`,
  );
  const layers = await Promise.all(
    LAYERS.map((layer) =>
      api.get<{ items: VersionItem[] }>(
        `${BASE}/datasets/${encodeURIComponent(datasetId)}/layers/${layer}/versions?page_size=50`,
      ),
    ),
  );
  return html`<p>
      ${dataset.namespace}.${dataset.name} · owner
      ${dataset.owner}${dataset.steward ? ` · steward ${dataset.steward}` : ''}
    </p>
    ${LAYERS.map((layer, i) => {
      const versions = layers[i]!.items;
      const current = versions.find((v) => v.is_current);
      return html`<section class="card" aria-labelledby="l-${layer}">
        <h2 id="l-${layer}">
          ${layer}
          ${current ? html`<span class="muted">current v${current.version}</span>` : html`<span class="muted">no current version</span>`}
        </h2>
        ${
          versions.length
            ? html`<table>
                  <thead>
                    <tr>
                      <th scope="col">Version</th>
                      <th scope="col">Classification</th>
                      <th scope="col">Current</th>
                      <th scope="col">Created</th>
                      <th scope="col">By</th>
                    </tr>
                  </thead>
                  <tbody>
                    ${versions.map(
                      (v) =>
                        html`<tr>
                          <th scope="row">v${v.version}</th>
                          <td>
                            ${badge(v.classification, v.breaking ? 'FAILED' : 'SUCCEEDED')}${v.breaking ? ' held back by the promotion gate' : ''}
                          </td>
                          <td>${v.is_current ? 'current' : v.promoted_at ? 'was current' : '—'}</td>
                          <td>${time(v.created_at)}</td>
                          <td>${v.created_by}</td>
                        </tr>`,
                    )}
                  </tbody>
                </table>
                ${
                  versions.length > 1
                    ? html`<form
                        class="filters"
                        method="get"
                        action="/ui/registry/${datasetId}/${layer}/diff"
                      >
                        <div>
                          <label for="from-${layer}">From</label
                          ><select id="from-${layer}" name="from">
                            ${versions.map((v, j) => html`<option ${j === 1 ? 'selected' : ''}>${v.version}</option>`)}
                          </select>
                        </div>
                        <div>
                          <label for="to-${layer}">To</label
                          ><select id="to-${layer}" name="to">
                            ${versions.map((v) => html`<option>${v.version}</option>`)}
                          </select>
                        </div>
                        <button type="submit">Diff</button>
                      </form>`
                    : ''
                }`
            : html`<p class="muted">no versions</p>`
        }
      </section>`;
    })}`;
}

/** Two versions side by side with the classified changes between them. */
export async function diffPage(
  api: UiApi,
  datasetId: string,
  layer: string,
  from: string,
  to: string,
): Promise<Html> {
  const path = `${BASE}/datasets/${encodeURIComponent(datasetId)}/layers/${encodeURIComponent(layer)}`;
  const [diff, older, newer] = await Promise.all([
    api.get<{
      changes: Array<{ op: string; field_path: string; path: string }>;
      classification: string;
      compatibility: string;
    }>(`${path}/diff?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`),
    api.get<{ schema_json: unknown }>(`${path}/versions/${encodeURIComponent(from)}`),
    api.get<{ schema_json: unknown }>(`${path}/versions/${encodeURIComponent(to)}`),
  ]);
  return html`<p>
      <a href="/ui/registry/${datasetId}">← dataset</a> · ${layer}: v${from} → v${to} is
      <strong>${diff.classification}</strong> (compatibility ${diff.compatibility})
    </p>
    <table>
      <thead>
        <tr>
          <th scope="col">Change</th>
          <th scope="col">Field</th>
          <th scope="col">Where in v${from}</th>
        </tr>
      </thead>
      <tbody>
        ${
          diff.changes.length
            ? diff.changes.map(
                (c) =>
                  html`<tr>
                    <td>${c.op}</td>
                    <td><code>${c.field_path || '(record)'}</code></td>
                    <td><code>${c.path}</code></td>
                  </tr>`,
              )
            : html`<tr>
                <td colspan="3">no changes</td>
              </tr>`
        }
      </tbody>
    </table>
    <div class="diff">
      <section aria-labelledby="old">
        <h2 id="old">v${from}</h2>
        <pre>${JSON.stringify(older.schema_json, null, 2)}</pre>
      </section>
      <section aria-labelledby="new">
        <h2 id="new">v${to}</h2>
        <pre>${JSON.stringify(newer.schema_json, null, 2)}</pre>
      </section>
    </div>`;
}
