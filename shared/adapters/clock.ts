/** Time as an input: core logic takes `now` from a Clock so timers and retries are testable without sleeping. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock that moves only when told to. */
export class ManualClock implements Clock {
  constructor(private current: Date) {}

  now(): Date {
    return new Date(this.current);
  }

  set(at: Date | string) {
    this.current = new Date(at);
  }

  advance(ms: number) {
    this.current = new Date(this.current.getTime() + ms);
  }
}
