import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../cli/program.ts';

/** Commands whose output is not data: a bare token for `$(…)`, and export lines for `source`. */
const NOT_DATA: Record<string, string> = {
  'arco token': 'prints a bearer token to be captured by $(…)',
  'arco env': 'prints shell export lines to be sourced',
};

function leaves(command: Command, path: string[] = []): Array<{ name: string; command: Command }> {
  const here = [...path, command.name()];
  return command.commands.length
    ? command.commands.flatMap((child) => leaves(child, here))
    : [{ name: here.join(' '), command }];
}

describe('the arco CLI', () => {
  it('accepts --json on every command that prints data', () => {
    const commands = leaves(buildProgram());
    expect(commands.length).toBeGreaterThan(40);
    const missing = commands
      .filter(({ name }) => !(name in NOT_DATA))
      .filter(({ command }) => !command.options.some((o) => o.long === '--json' && !o.required))
      .map(({ name }) => name);
    expect(missing).toEqual([]);
    for (const name of Object.keys(NOT_DATA)) expect(commands.map((c) => c.name)).toContain(name);
  });
});
