import type { TaskErrorInfo } from '../state/events.ts';

/**
 * Failure classes and retry categories (pipeline-ops spec §3): every failed attempt gets exactly one
 * class, decided once when the failure is recorded (so history is never re-labelled), and the class
 * decides whether the platform retries automatically and what an operator may do (A/B/C).
 */
export const FAILURE_CLASSES = [
  'TRANSIENT_NETWORK',
  'TIMEOUT',
  'INFRASTRUCTURE',
  'MISSING_INPUT',
  'CONTRACT_VIOLATION',
  'DATA_QUALITY',
  'PERMISSION',
  'CONFIGURATION',
  'STALE_INPUT',
  'SERVICE_CONFLICT',
  'POINTER_CONFLICT',
  'CANCELLED',
  'UNKNOWN',
] as const;
export type FailureClass = (typeof FAILURE_CLASSES)[number];
export type RetryCategory = 'A' | 'B' | 'C';

export const isFailureClass = (value: string): value is FailureClass =>
  (FAILURE_CLASSES as readonly string[]).includes(value);

/** Signatures in table order; the first match wins and its id is stored as `error.signature`. */
const SIGNATURES: Array<{ id: string; failureClass: FailureClass; code?: string; pattern: RegExp }> = [
  {
    id: 'dns',
    failureClass: 'TRANSIENT_NETWORK',
    pattern: /temporary failure in name resolution|\beai_again\b|\benotfound\b|\bgetaddrinfo\b/i,
  },
  { id: 'tls', failureClass: 'TRANSIENT_NETWORK', pattern: /ssl handshake timed out|tls handshake/i },
  {
    id: 'connection',
    failureClass: 'TRANSIENT_NETWORK',
    pattern: /\beconnreset\b|\beconnrefused\b|\betimedout\b|socket hang up/i,
  },
  {
    id: 'upstream_status',
    failureClass: 'TRANSIENT_NETWORK',
    pattern: /\b(http|status)[ :]*(429|502|503|504)\b/i,
  },
  { id: 'heartbeat', failureClass: 'TIMEOUT', pattern: /heartbeat_timeout|deadline exceeded/i },
  {
    id: 'run_id_mismatch',
    failureClass: 'MISSING_INPUT',
    code: 'run_id_mismatch',
    pattern: /requested run=\S+ missing/i,
  },
  {
    id: 'input_absent',
    failureClass: 'MISSING_INPUT',
    code: 'input_absent',
    pattern: /filenotfounderror|\benoent\b|no such object|no such file/i,
  },
  {
    id: 'missing_columns',
    failureClass: 'CONTRACT_VIOLATION',
    pattern: /missing required columns|schema mismatch|column .* not found/i,
  },
  {
    id: 'permission',
    failureClass: 'PERMISSION',
    pattern:
      /permission denied|\beacces\b|\beperm\b|permission_denied|does not have storage\.objects|\b403\b/i,
  },
  {
    id: 'snapshot_too_old',
    failureClass: 'STALE_INPUT',
    code: 'snapshot_too_old',
    pattern: /snapshot is [\d.]+\s*h old|exceeds [\d.]+\s*h limit/i,
  },
  {
    id: 'port_in_use',
    failureClass: 'SERVICE_CONFLICT',
    pattern: /address already in use|\beaddrinuse\b|another instance is already running/i,
  },
];

const BY_CATEGORY: Record<string, FailureClass> = {
  INFRASTRUCTURE: 'INFRASTRUCTURE',
  TIMEOUT: 'TIMEOUT',
  DATA_QUALITY: 'DATA_QUALITY',
  CONFIGURATION: 'CONFIGURATION',
  CANCELLED: 'CANCELLED',
};

const AUTOMATIC_RETRY = new Set<FailureClass>(['TRANSIENT_NETWORK', 'TIMEOUT', 'INFRASTRUCTURE', 'UNKNOWN']);

const CATEGORY_OF: Record<FailureClass, RetryCategory> = {
  TRANSIENT_NETWORK: 'A',
  TIMEOUT: 'A',
  INFRASTRUCTURE: 'A',
  MISSING_INPUT: 'A',
  CONTRACT_VIOLATION: 'C',
  DATA_QUALITY: 'C',
  PERMISSION: 'C',
  CONFIGURATION: 'C',
  STALE_INPUT: 'C',
  SERVICE_CONFLICT: 'C',
  POINTER_CONFLICT: 'C',
  CANCELLED: 'B',
  UNKNOWN: 'C',
};

export interface Classification {
  failureClass: FailureClass;
  code?: string;
  signature?: string;
  retryable: boolean;
  classifiedBy: 'worker' | 'signature' | 'platform';
}

/** Spec §3.1's order: the worker's class, then a platform class, signatures, the category, else UNKNOWN. */
export function classifyFailure(
  error: TaskErrorInfo & { tracebackSnippet?: string },
  platformClass?: FailureClass,
): Classification {
  const decide = (
    failureClass: FailureClass,
    classifiedBy: Classification['classifiedBy'],
    extra: Partial<Classification> = {},
  ): Classification => ({
    failureClass,
    ...(error.code ? { code: error.code } : {}),
    ...extra,
    retryable: error.retryable ?? AUTOMATIC_RETRY.has(failureClass),
    classifiedBy,
  });
  if (error.failureClass && isFailureClass(error.failureClass)) return decide(error.failureClass, 'worker');
  if (platformClass) return decide(platformClass, 'platform');
  const text = `${error.message ?? ''}\n${error.tracebackSnippet ?? ''}`;
  const match = SIGNATURES.find((s) => s.pattern.test(text));
  if (match)
    return decide(match.failureClass, 'signature', {
      signature: match.id,
      ...(match.code && !error.code ? { code: match.code } : {}),
    });
  const byCategory = error.category ? BY_CATEGORY[error.category.toUpperCase()] : undefined;
  if (byCategory) return decide(byCategory, 'worker');
  return decide('UNKNOWN', 'platform');
}

const ORDER: RetryCategory[] = ['A', 'B', 'C'];

/**
 * Spec §3.3: the operator category of a failed step, `max(class category, step category)` where a
 * step that publishes outside its run scope is B. MISSING_INPUT depends on its code; STALE_INPUT is B
 * only for `now` runs.
 */
export function retryCategory(
  classification: Pick<Classification, 'failureClass' | 'code'>,
  sideEffects: 'run_scoped' | 'publishes' = 'run_scoped',
  asOfMode = 'now',
): RetryCategory {
  let category = CATEGORY_OF[classification.failureClass];
  if (
    classification.failureClass === 'MISSING_INPUT' &&
    classification.code &&
    classification.code !== 'input_absent'
  )
    category = 'C';
  if (classification.failureClass === 'STALE_INPUT' && asOfMode === 'now') category = 'B';
  const step: RetryCategory = sideEffects === 'publishes' ? 'B' : 'A';
  return ORDER[Math.max(ORDER.indexOf(category), ORDER.indexOf(step))]!;
}
