import { describe, expect, it } from 'vitest';
import { Failpoints, InjectedFault, parseFailpointSpec } from '../../shared/core/failpoints.ts';

describe('failpoints', () => {
  it('fail exactly count times, then pass', () => {
    const failpoints = new Failpoints(true);
    failpoints.arm('compactor.after_manifest', 2);
    expect(() => failpoints.hit('compactor.after_manifest')).toThrow(InjectedFault);
    expect(failpoints.snapshot()).toEqual({ 'compactor.after_manifest': 1 });
    expect(() => failpoints.hit('compactor.after_manifest')).toThrow(InjectedFault);
    expect(() => failpoints.hit('compactor.after_manifest')).not.toThrow();
    expect(() => failpoints.hit('never.armed')).not.toThrow();
  });

  it('cannot be armed outside the local stack', () => {
    expect(() => new Failpoints(false).arm('delta.after_log', 1)).toThrow('disabled');
  });

  it('parse ARCO_FAILPOINTS and reject malformed entries', () => {
    expect(parseFailpointSpec('delta.after_reserve=1, run.after_reservation=3')).toEqual([
      ['delta.after_reserve', 1],
      ['run.after_reservation', 3],
    ]);
    expect(parseFailpointSpec('')).toEqual([]);
    expect(() => parseFailpointSpec('delta.after_log')).toThrow('expected name=count');
  });
});
