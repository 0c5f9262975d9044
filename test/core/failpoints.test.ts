import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  FAILPOINT_NAMES,
  Failpoints,
  InjectedFault,
  parseFailpointSpec,
} from '../../shared/core/failpoints.ts';

describe('failpoints', () => {
  it('fail exactly count times, then pass', () => {
    const failpoints = new Failpoints(true);
    failpoints.arm('compactor.after_manifest', 2);
    expect(() => failpoints.hit('compactor.after_manifest')).toThrow(InjectedFault);
    expect(failpoints.snapshot()).toEqual({ 'compactor.after_manifest': 1 });
    expect(() => failpoints.hit('compactor.after_manifest')).toThrow(InjectedFault);
    expect(() => failpoints.hit('compactor.after_manifest')).not.toThrow();
    expect(() => failpoints.hit('delta.after_log')).not.toThrow();
  });

  it('share one count between processes: a firing is reported, and counted off elsewhere by consume', () => {
    const [here, there] = [new Failpoints(true), new Failpoints(true)];
    const fired: string[] = [];
    here.onFire = (name) => fired.push(name);
    here.arm('delta.after_log', 2);
    there.replace(here.snapshot());
    expect(() => here.hit('delta.after_log')).toThrow(InjectedFault);
    for (const name of fired.splice(0)) there.consume(name);
    expect(there.snapshot()).toEqual({ 'delta.after_log': 1 });
    expect(() => there.hit('delta.after_log')).toThrow(InjectedFault);
    expect(there.consume('delta.after_log')).toBe(false);
    there.replace({});
    expect(there.snapshot()).toEqual({});
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
    expect(() => parseFailpointSpec('delta.after_log=1,delta.after_lgo=1')).toThrow(
      'no failpoint is named delta.after_lgo',
    );
  });

  it('refuse to arm a name that is no failpoint (a typo would arm nothing that ever fires)', () => {
    const failpoints = new Failpoints(true);
    expect(() => failpoints.arm('nope.point', 1)).toThrow('no failpoint is named nope.point');
    expect(failpoints.snapshot()).toEqual({});
  });

  it('list exactly the points the code hits (a name with no hit() left would arm and never fire)', () => {
    const root = join(import.meta.dirname, '..', '..');
    const hit = new Set<string>();
    for (const dir of ['shared', 'functions'])
      for (const file of readdirSync(join(root, dir), { recursive: true }) as string[])
        if (file.endsWith('.ts'))
          for (const m of readFileSync(join(root, dir, file), 'utf8').matchAll(/\.hit\('([a-z_.]+)'\)/g))
            hit.add(m[1]!);
    expect([...hit].sort()).toEqual([...FAILPOINT_NAMES].sort());
  });
});
