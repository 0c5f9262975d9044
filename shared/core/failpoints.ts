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

export class Failpoints {
  private readonly armed = new Map<string, number>();

  constructor(readonly enabled: boolean) {}

  arm(name: string, count: number) {
    if (!this.enabled) throw new Error('failpoints are disabled outside the local stack');
    if (count <= 0) this.armed.delete(name);
    else this.armed.set(name, count);
  }

  hit(name: string) {
    const remaining = this.armed.get(name);
    if (!remaining) return;
    if (remaining <= 1) this.armed.delete(name);
    else this.armed.set(name, remaining - 1);
    throw new InjectedFault(name);
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.armed].sort(([a], [b]) => a.localeCompare(b)));
  }
}

/** Parses `ARCO_FAILPOINTS="name=count,…"`. */
export function parseFailpointSpec(spec: string): Array<[string, number]> {
  return spec
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const match = /^([a-z][a-z0-9_.]*)=(\d+)$/.exec(part);
      if (!match) throw new Error(`ARCO_FAILPOINTS: expected name=count, got "${part}"`);
      return [match[1]!, Number(match[2])] as [string, number];
    });
}
