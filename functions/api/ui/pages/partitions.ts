import { html } from 'hono/html';
import { type Html, STATE_COLOURS, time } from '../layout.ts';
import type { UiApi } from '../uiSession.ts';

interface PartitionRow {
  assetKey: string;
  partitionKey: string;
  lastMaterializationRunId?: string;
  lastMaterializationAt?: string;
  lastAttemptRunId?: string;
  lastAttemptAt?: string;
  lastAttemptOutcome?: string;
  deltaTable?: string;
  deltaVersion?: number;
  isStale: boolean;
}

/** A cell's state: last attempt against last success (a failed attempt after an earlier success shows). */
function cellState(p: PartitionRow): string {
  if (p.lastAttemptOutcome && p.lastAttemptOutcome !== 'SUCCEEDED')
    return p.lastMaterializationRunId ? 'FAILED_AFTER_SUCCESS' : 'FAILED';
  if (p.isStale) return 'STALE';
  return p.lastMaterializationRunId ? 'SUCCEEDED' : 'MISSING';
}

const CELL: Record<string, { colour: string; label: string; mark: string }> = {
  SUCCEEDED: { colour: STATE_COLOURS.SUCCEEDED!, label: 'materialised (last attempt succeeded)', mark: '✓' },
  FAILED: { colour: STATE_COLOURS.FAILED!, label: 'never materialised, last attempt failed', mark: '✗' },
  FAILED_AFTER_SUCCESS: {
    colour: '#a0522d',
    label: 'last attempt failed, an earlier success stands',
    mark: '!',
  },
  STALE: { colour: '#8a5a00', label: 'stale (upstream changed)', mark: '~' },
  MISSING: { colour: '#9e9e9e', label: 'no materialisation', mark: '·' },
};

/** A column heading: the value alone for a one-dimension key (`2026-11-30`), else the whole plain key. */
const columnLabel = (key: string) => (key.includes('|') ? key : key.slice(key.indexOf('=') + 1));

/**
 * Partitions of every asset (or one) as a heatmap: assets × partition keys (plain, as the API shows
 * them), coloured by state; `partition` narrows it to the partitions a plain or bare key names.
 */
export async function partitionsPage(
  api: UiApi,
  asset: string | undefined,
  partition?: string,
): Promise<Html> {
  const rows: PartitionRow[] = [];
  let cursor: string | undefined;
  do {
    const params = new URLSearchParams({
      limit: '200',
      ...(asset ? { assetKey: asset } : {}),
      ...(partition ? { partitionKey: partition } : {}),
      ...(cursor ? { cursor } : {}),
    });
    const page = await api.get<{ partitions: PartitionRow[]; nextCursor?: string }>(
      `${api.ws}/partitions?${params}`,
    );
    rows.push(...page.partitions);
    cursor = page.nextCursor;
  } while (cursor && rows.length < 2000);
  const assets = [...new Set(rows.map((r) => r.assetKey))].sort();
  const keys = [...new Set(rows.map((r) => r.partitionKey))].sort();
  const at = new Map(rows.map((r) => [`${r.assetKey}\u0000${r.partitionKey}`, r]));
  return html`<form class="filters" method="get" action="/ui/partitions">
      <div>
        <label for="asset">Asset</label
        ><input id="asset" name="asset" value="${asset ?? ''}" placeholder="all assets" />
      </div>
      <div>
        <label for="partition">Partition</label
        ><input
          id="partition"
          name="partition"
          value="${partition ?? ''}"
          placeholder="2026-11-30 or date=2026-11-30|region=eu"
        />
      </div>
      <button type="submit">Show</button>
    </form>
    <p class="legend">
      ${Object.values(CELL).map((c) => html`<span><span class="badge" style="background:${c.colour}">${c.mark}</span> ${c.label}</span>`)}
    </p>
    ${
      rows.length === 0
        ? html`<p>No partition has been materialised yet.</p>`
        : html`<div style="overflow:auto">
            <table class="heatmap">
              <thead>
                <tr>
                  <th scope="col">Asset</th>
                  ${keys.map((k) => html`<th scope="col" title="${k}"><span style="writing-mode:vertical-rl;font-size:.7rem">${columnLabel(k)}</span></th>`)}
                </tr>
              </thead>
              <tbody>
                ${assets.map(
                  (a) =>
                    html`<tr>
                      <th scope="row"><a href="/ui/partitions?asset=${encodeURIComponent(a)}">${a}</a></th>
                      ${keys.map((k) => {
                        const p = at.get(`${a}\u0000${k}`);
                        if (!p) return html`<td></td>`;
                        const cell = CELL[cellState(p)]!;
                        const run = p.lastAttemptRunId ?? p.lastMaterializationRunId;
                        return html`<td style="background:${cell.colour}">
                          <a
                            href="${run ? `/ui/runs/${run}` : '#'}"
                            title="${a} ${k}: ${cell.label}${p.deltaTable ? `, ${p.deltaTable} v${p.deltaVersion}` : ''}"
                            aria-label="${a} ${k}: ${cell.label}"
                            >${cell.mark}</a
                          >
                        </td>`;
                      })}
                    </tr>`,
                )}
              </tbody>
            </table>
          </div>`
    }
    ${
      asset
        ? html`<h2>${asset}</h2>
            <table>
              <thead>
                <tr>
                  <th scope="col">Partition</th>
                  <th scope="col">Last success</th>
                  <th scope="col">Last attempt</th>
                  <th scope="col">Delta version</th>
                </tr>
              </thead>
              <tbody>
                ${rows.map(
                  (p) =>
                    html`<tr>
                      <th scope="row">${p.partitionKey}</th>
                      <td>
                        ${p.lastMaterializationRunId ? html`<a href="/ui/runs/${p.lastMaterializationRunId}">${time(p.lastMaterializationAt)}</a>` : '—'}
                      </td>
                      <td>
                        ${p.lastAttemptOutcome ?? '—'}
                        ${p.lastAttemptRunId ? html`<a href="/ui/runs/${p.lastAttemptRunId}">${time(p.lastAttemptAt)}</a>` : ''}
                      </td>
                      <td>
                        ${p.deltaTable ? html`<a href="/ui/delta/by-name/${encodeURIComponent(p.deltaTable)}?version=${p.deltaVersion}">${p.deltaTable} v${p.deltaVersion}</a>` : '—'}
                      </td>
                    </tr>`,
                )}
              </tbody>
            </table>`
        : ''
    }`;
}
