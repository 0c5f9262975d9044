import { appendFileSync } from 'node:fs';

/**
 * Structured JSON logs in the shape Cloud Logging reads from stdout: `severity`, `message`, and the
 * request's id under `requestId` plus the `logging.googleapis.com/trace` link when a trace is known.
 */
export type Severity = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';

const RANK: Record<Severity | 'SILENT', number> = {
  DEBUG: 10,
  INFO: 20,
  WARNING: 30,
  ERROR: 40,
  SILENT: 100,
};

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export type LogSink = (line: string) => void;

/** stdout (what Cloud Logging reads), or the file ARCO_LOG_FILE names (the local stack's functions.log). */
const defaultSink: LogSink = (line) => {
  if (process.env.ARCO_LOG_FILE) appendFileSync(process.env.ARCO_LOG_FILE, `${line}\n`);
  else process.stdout.write(`${line}\n`);
};

export function createLogger(
  base: Record<string, unknown> = {},
  sink: LogSink = defaultSink,
  minimum: Severity | 'SILENT' = (process.env.ARCO_LOG_LEVEL?.toUpperCase() as Severity | 'SILENT') || 'INFO',
): Logger {
  const emit = (severity: Severity, message: string, fields?: Record<string, unknown>) => {
    if (RANK[severity] < (RANK[minimum] ?? RANK.INFO)) return;
    sink(JSON.stringify({ severity, message, time: new Date().toISOString(), ...base, ...fields }));
  };
  return {
    debug: (m, f) => emit('DEBUG', m, f),
    info: (m, f) => emit('INFO', m, f),
    warn: (m, f) => emit('WARNING', m, f),
    error: (m, f) => emit('ERROR', m, f),
    child: (fields) => createLogger({ ...base, ...fields }, sink, minimum),
  };
}

export const logger = createLogger();
