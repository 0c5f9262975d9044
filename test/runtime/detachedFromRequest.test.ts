import { create } from 'node:domain';
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { detachedFromRequest } from '../../shared/runtime/detachedFromRequest.ts';

const activeDomain = () => (process as unknown as { domain?: unknown }).domain ?? null;
const emitterDomain = () => (new EventEmitter() as EventEmitter & { domain?: unknown }).domain ?? null;

describe('detachedFromRequest', () => {
  it('starts work bound to no domain, and leaves the request in its own', async () => {
    const request = create();
    const seen = await new Promise<{ timer: unknown; emitter: unknown; restored: boolean }>((resolve) => {
      request.run(() => {
        let emitter: unknown;
        let timer: unknown = 'not run';
        detachedFromRequest(() => {
          emitter = emitterDomain();
          setTimeout(() => (timer = activeDomain()), 1);
        });
        const restored = activeDomain() === request;
        setTimeout(() => resolve({ timer, emitter, restored }), 30);
      });
    });
    expect(seen).toEqual({ timer: null, emitter: null, restored: true });
  });

  it('is what makes the difference: the same work started plainly is bound to the request', async () => {
    const request = create();
    const seen = await new Promise<{ timer: unknown; emitter: unknown }>((resolve) => {
      request.run(() => {
        const emitter = emitterDomain();
        let timer: unknown = 'not run';
        setTimeout(() => (timer = activeDomain()), 1);
        setTimeout(() => resolve({ timer, emitter }), 30);
      });
    });
    expect(seen).toEqual({ timer: request, emitter: request });
  });

  it('runs the work as is when no request domain is active', () => {
    expect(detachedFromRequest(() => 42)).toBe(42);
  });
});
