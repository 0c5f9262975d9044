/**
 * Named crash points right after durable steps (spec README, "Failpoints"). Armed only on the local
 * stack; an armed point throws InjectedFault `count` times, then passes. Production code calls `hit`
 * at each point and, with nothing armed, it costs a map lookup.
 */
export class InjectedFault extends Error {
  constructor(readonly failpoint: string) {
    super(`injected fault at ${failpoint}`);
  }
}

/**
 * Every failpoint the code has (docs/local-stack.md lists what each one follows). `hit` takes only these,
 * and arming refuses others: a misspelt name would otherwise be armed, never fire, and pass a crash test.
 */
export const FAILPOINT_NAMES = [
  'backfill.after_trigger',
  'compactor.after_manifest',
  'compactor.after_pointer',
  'compactor.after_shards',
  'delta.after_log',
  'delta.after_marker',
  'delta.after_reserve',
  'run.after_reservation',
  'schedule.after_trigger',
  'sensor.after_trigger',
] as const;

export type FailpointName = (typeof FAILPOINT_NAMES)[number];

/** The names among `names` that are no failpoint of ours, in the order given. */
export function unknownFailpoints(names: Iterable<string>): string[] {
  return [...names].filter((name) => !(FAILPOINT_NAMES as readonly string[]).includes(name));
}

export class Failpoints {
  private readonly armed = new Map<string, number>();
  /**
   * Told of every fault this process injects. The local stack runs each function in a process of its
   * own and shares one count among them: it passes each firing on to the other processes' `consume`.
   */
  onFire: ((name: string) => void) | undefined;

  constructor(readonly enabled: boolean) {}

  arm(name: string, count: number) {
    if (!this.enabled) throw new Error('failpoints are disabled outside the local stack');
    if (unknownFailpoints([name]).length) throw new Error(`no failpoint is named ${name}`);
    if (count <= 0) this.armed.delete(name);
    else this.armed.set(name, count);
  }

  /** Makes the armed set exactly `armed` (name → remaining count): another process's snapshot. */
  replace(armed: Record<string, number>) {
    this.armed.clear();
    for (const [name, count] of Object.entries(armed)) this.arm(name, count);
  }

  hit(name: FailpointName) {
    if (!this.consume(name)) return;
    this.onFire?.(name);
    throw new InjectedFault(name);
  }

  /** Counts one firing of `name` without throwing (one that another process injected); false when not armed. */
  consume(name: string): boolean {
    const remaining = this.armed.get(name);
    if (!remaining) return false;
    if (remaining <= 1) this.armed.delete(name);
    else this.armed.set(name, remaining - 1);
    return true;
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.armed].sort(([a], [b]) => a.localeCompare(b)));
  }
}

/** Parses `ARCO_FAILPOINTS="name=count,…"`; throws on a malformed entry or a name that is no failpoint. */
export function parseFailpointSpec(spec: string): Array<[string, number]> {
  const entries = spec
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const match = /^([a-z][a-z0-9_.]*)=(\d+)$/.exec(part);
      if (!match) throw new Error(`ARCO_FAILPOINTS: expected name=count, got "${part}"`);
      return [match[1]!, Number(match[2])] as [string, number];
    });
  const unknown = unknownFailpoints(entries.map(([name]) => name));
  if (unknown.length)
    throw new Error(
      `ARCO_FAILPOINTS: no failpoint is named ${unknown.join(', ')}; known: ${FAILPOINT_NAMES.join(', ')}`,
    );
  return entries;
}
