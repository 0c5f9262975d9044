/**
 * Runs `start` with no active Node.js domain, so the promises and timers of work that outlives the
 * request which started it (the compaction session, a group commit's pump serving many requests)
 * are not bound to that request; registerHttpFunction runs each whole request this way (what that
 * changes for a throw inside a callback is in its docstring).
 *
 * Why: the Functions Framework runs each HTTP request inside a `domain` (function_wrappers.js, 5.x).
 * Every async resource created while a domain is active is tied to it, and each of its callbacks
 * enters and leaves the domain (several async-hook calls and an uncaught-exception-capture swap); a
 * session started by one hint request would pay that on every await for as long as it runs (about a
 * fifth of the compaction process's CPU in `npm run bench dag`), and its failures would be reported
 * as that request's crash. The work started here handles its own errors.
 */
export function detachedFromRequest<T>(start: () => T): T {
  const active = withDomain.domain;
  if (!active) return start();
  // exit() also clears `domain.active`, which EventEmitters created in `start` (sockets, streams) bind
  // to, and the uncaught-exception capture; clearing process.domain alone left both on the request.
  active.exit();
  try {
    return start();
  } finally {
    active.enter();
  }
}

/** `process.domain` (absent from @types/node): the domain the running callback entered, if any. */
const withDomain = process as unknown as { domain?: { enter(): void; exit(): void } | null };
