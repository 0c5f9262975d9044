import { readFileSync } from 'node:fs';
import { CliError } from './apiCall.ts';

/**
 * The JSON in a local file the user named (a schema, a code-location manifest), or a CliError that says
 * which file and what is wrong with it: `cannot read schema file x.avsc: no such file` or `… is not
 * valid JSON: …`. What the CLI prints then is that one line, never a stack trace.
 */
export function readJsonFile(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'it is a directory'
          : code === 'EACCES'
            ? 'permission denied'
            : (error as Error).message;
    throw new CliError(`cannot read ${what} ${path}: ${reason}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new CliError(`${what} ${path} is not valid JSON: ${(error as Error).message}`);
  }
}
