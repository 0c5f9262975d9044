/** Calls the Arco API for the CLI: ARCO_API_URL and ARCO_TOKEN, with errors that name the fix. */
export class CliError extends Error {}

export async function apiCall<T = Record<string, unknown>>(
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const base = process.env.ARCO_API_URL;
  const token = process.env.ARCO_TOKEN;
  if (!base)
    throw new CliError('ARCO_API_URL is not set: `source .arco/stack.env` (local stack) or export it');
  if (!token)
    throw new CliError(
      'ARCO_TOKEN is not set: export ARCO_TOKEN=$(npx arco token --tenant T --workspace W --roles operator)',
    );
  let response: Response;
  try {
    response = await fetch(`${base.replace(/\/+$/, '')}${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch (error) {
    throw new CliError(
      `cannot reach ${base}: ${(error as Error).message}; is the stack running (npm start)?`,
    );
  }
  const text = await response.text();
  const parsed = parsedBody(text);
  if (!response.ok) {
    const hint = response.status === 401 ? ' (mint a fresh token with `npx arco token …`)' : '';
    // A front end's or a crashed instance's answer is not the API's error body: show its start.
    const message = parsed?.message ?? (text.slice(0, 200).trim() || response.statusText);
    throw new CliError(`${response.status} ${String(parsed?.code ?? '')}: ${String(message)}${hint}`);
  }
  if (parsed === null)
    throw new CliError(
      `${response.status}: ${base} answered something other than JSON; is ARCO_API_URL the Arco API?`,
    );
  return parsed as T;
}

/** The API's JSON object answer ({} for an empty body), or null for a body that is not JSON. */
function parsedBody(text: string): Record<string, unknown> | null {
  if (!text) return {};
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Prints a value as indented JSON: what every `--json` prints, and what JSON-only commands print anyway. */
export function printJson(value: unknown) {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** The `--json` flag every data-printing command accepts (test/cli/jsonFlag.test.ts walks the program). */
export const JSON_FLAG = ['--json', 'print JSON', false] as const;
/** `--json` on a command that prints JSON anyway, so scripts can pass it everywhere. */
export const JSON_ALWAYS = ['--json', 'print JSON (what this command prints anyway)', false] as const;

/** Prints JSON for scripts (--json) or aligned columns for people. */
export function printTable(rows: Array<Record<string, unknown>>, columns: string[], json: boolean) {
  if (json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  const cell = (value: unknown) =>
    value === null || value === undefined
      ? '-'
      : typeof value === 'object'
        ? JSON.stringify(value)
        : String(value);
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  process.stdout.write(`${line(columns.map((c) => c.toUpperCase()))}\n`);
  for (const row of rows) process.stdout.write(`${line(columns.map((c) => cell(row[c])))}\n`);
}

/** The token's workspace, as the API sees it (`ARCO_WORKSPACE` overrides for tokens that carry none). */
export async function workspacePath(): Promise<string> {
  const workspace =
    process.env.ARCO_WORKSPACE ??
    (await apiCall<{ workspaceId?: string }>('GET', '/api/v1/whoami')).workspaceId;
  if (!workspace)
    throw new CliError('the token names no workspace: set ARCO_WORKSPACE or mint a workspace token');
  return `/api/v1/workspaces/${workspace}`;
}

/** Exit status the caller chooses without throwing (2 = the operation ended but needs attention). */
export class CliExit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}
