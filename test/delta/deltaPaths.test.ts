import { describe, expect, it } from 'vitest';
import { logPath, markerPath, tableRoot } from '../../shared/delta/deltaPaths.ts';

const scope = { tenant: 'acme', workspace: 'sales' };

describe('Delta paths', () => {
  it('zero-pads log versions to 20 digits and shards markers by hash', () => {
    expect(logPath('warehouse/orders', 7)).toBe('warehouse/orders/_delta_log/00000000000000000007.json');
    // printf '%s' key | sha256sum
    expect(markerPath('t1', 'abc')).toBe(
      'delta/idempotency/t1/ba/ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad.json',
    );
  });

  it('resolves locations under the caller scope and rejects escapes', () => {
    expect(tableRoot('id', undefined, scope)).toBe('tables/id');
    expect(tableRoot('id', 'warehouse/sales/orders_delta', scope)).toBe('warehouse/sales/orders_delta');
    expect(tableRoot('id', 'gs://bucket/tenant=acme/workspace=sales/w/o/', scope)).toBe('w/o');
    for (const bad of [
      '../x',
      'a/../b',
      'a//b',
      'a\\b',
      'a%2F',
      'tenant=other/workspace=sales/x',
      'delta/x',
      'tenant=acme/workspace=sales',
    ])
      expect(() => tableRoot('id', bad, scope), bad).toThrow();
  });
});
