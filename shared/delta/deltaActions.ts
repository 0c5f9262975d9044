/**
 * Validation of a commit payload against the public Delta protocol (spec A10): newline-delimited JSON,
 * each line one object with exactly one known action key, protocol + metaData in version 0, at most one
 * metaData per commit, and no path added or removed twice.
 */
export class DeltaPayloadError extends Error {
  constructor(
    readonly line: number,
    reason: string,
  ) {
    super(line > 0 ? `line ${line}: ${reason}` : reason);
  }
}

const ACTIONS = new Set([
  'protocol',
  'metaData',
  'add',
  'remove',
  'commitInfo',
  'txn',
  'cdc',
  'domainMetadata',
]);

type Action = Record<string, unknown>;

const isObject = (value: unknown): value is Action =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const need = (line: number, ok: boolean, reason: string) => {
  if (!ok) throw new DeltaPayloadError(line, reason);
};

function checkAction(line: number, kind: string, action: Action) {
  switch (kind) {
    case 'protocol':
      need(line, Number.isInteger(action.minReaderVersion), 'protocol.minReaderVersion must be an integer');
      need(line, Number.isInteger(action.minWriterVersion), 'protocol.minWriterVersion must be an integer');
      break;
    case 'metaData':
      need(line, typeof action.id === 'string' && action.id !== '', 'metaData.id must be a non-empty string');
      need(
        line,
        isObject(action.format) && typeof action.format.provider === 'string',
        'metaData.format.provider is required',
      );
      need(line, typeof action.schemaString === 'string', 'metaData.schemaString must be a string');
      need(
        line,
        Array.isArray(action.partitionColumns) && action.partitionColumns.every((c) => typeof c === 'string'),
        'metaData.partitionColumns must be an array of strings',
      );
      if (typeof action.schemaString === 'string') {
        try {
          need(line, isObject(JSON.parse(action.schemaString)), 'metaData.schemaString must encode a struct');
        } catch (error) {
          if (error instanceof DeltaPayloadError) throw error;
          throw new DeltaPayloadError(line, 'metaData.schemaString is not valid JSON');
        }
      }
      break;
    case 'add':
      need(
        line,
        typeof action.path === 'string' && action.path !== '',
        'add.path must be a non-empty string',
      );
      need(line, isObject(action.partitionValues), 'add.partitionValues must be an object');
      need(
        line,
        Number.isInteger(action.size) && (action.size as number) >= 0,
        'add.size must be a non-negative integer',
      );
      need(line, Number.isInteger(action.modificationTime), 'add.modificationTime must be an integer (ms)');
      need(line, typeof action.dataChange === 'boolean', 'add.dataChange must be a boolean');
      if (action.stats !== undefined)
        need(line, typeof action.stats === 'string', 'add.stats must be a JSON string');
      break;
    case 'remove':
      need(
        line,
        typeof action.path === 'string' && action.path !== '',
        'remove.path must be a non-empty string',
      );
      need(line, typeof action.dataChange === 'boolean', 'remove.dataChange must be a boolean');
      break;
    case 'txn':
      need(line, typeof action.appId === 'string', 'txn.appId must be a string');
      need(line, Number.isInteger(action.version), 'txn.version must be an integer');
      break;
    case 'domainMetadata':
      need(line, typeof action.domain === 'string', 'domainMetadata.domain must be a string');
      break;
  }
}

/** Throws DeltaPayloadError naming the first bad line; `version` is the version the payload would become. */
export function validateDeltaPayload(payload: string, version: number): void {
  const lines = payload.split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (!lines.length) throw new DeltaPayloadError(0, 'payload has no actions');
  const seen = new Map<string, number>();
  const touched = new Set<string>();
  lines.forEach((text, index) => {
    const line = index + 1;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new DeltaPayloadError(line, 'not valid JSON');
    }
    need(line, isObject(parsed), 'each line must be a JSON object');
    const keys = Object.keys(parsed as Action);
    need(line, keys.length === 1, `each line must hold exactly one action, found ${keys.length}`);
    const kind = keys[0]!;
    need(line, ACTIONS.has(kind), `unknown action "${kind}"`);
    const action = (parsed as Action)[kind];
    need(line, isObject(action), `${kind} must be an object`);
    checkAction(line, kind, action as Action);
    seen.set(kind, (seen.get(kind) ?? 0) + 1);
    if (kind === 'metaData') need(line, seen.get(kind) === 1, 'at most one metaData action per commit');
    if (kind === 'protocol') need(line, seen.get(kind) === 1, 'at most one protocol action per commit');
    if (kind === 'add' || kind === 'remove') {
      const path = String((action as Action).path);
      need(line, !touched.has(path), `path "${path}" is added or removed twice in one commit`);
      touched.add(path);
    }
  });
  if (version === 0) {
    if (!seen.has('protocol')) throw new DeltaPayloadError(0, 'version 0 must contain a protocol action');
    if (!seen.has('metaData')) throw new DeltaPayloadError(0, 'version 0 must contain a metaData action');
  }
}
