import { createHash } from 'node:crypto';
import type { DeltaColumn, Row } from '../../shared/delta/deltaDataFiles.ts';
import { partitionValues } from '../../shared/orchestration/partitionKeys.ts';

/** The demo assets' data: a few deterministic rows per asset and partition. */
export const DEMO_COLUMNS: DeltaColumn[] = [
  { name: 'row_id', type: 'long' },
  { name: 'asset', type: 'string' },
  { name: 'value', type: 'double' },
  { name: 'run_id', type: 'string' },
];

/** A canonical key (`date=d:2026-11-22`) or plain pairs (`date=2026-11-22`) → {date: …}; else {partition: key}. */
export function partitionValuesOf(partitionKey: string | undefined): Record<string, string> {
  if (!partitionKey) return {};
  try {
    return partitionValues(partitionKey);
  } catch {
    // Not a canonical key: read it as plain `dim=value` pairs below.
  }
  const pairs = partitionKey.split(',').map((part) => part.split('='));
  if (pairs.every((p) => p.length === 2 && p[0] && p[1]))
    return Object.fromEntries(pairs as Array<[string, string]>);
  return { partition: partitionKey };
}

export function demoRows(asset: string, partitionKey: string | undefined, runId: string, count = 3): Row[] {
  return Array.from({ length: count }, (_, i) => {
    const seed = createHash('sha256')
      .update(`${asset}|${partitionKey ?? ''}|${i}`)
      .digest();
    return { row_id: i + 1, asset, value: seed.readUInt16BE(0) / 100, run_id: runId };
  });
}
