import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const lint = async (filePath: string, text: string) => {
  const [result] = await new ESLint().lintText(text, { filePath });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
};

describe('the lint rule that keeps I/O out of the pure domain files', () => {
  it('refuses node:, cloud-client and adapter imports in a pure file', async () => {
    const file = 'shared/orchestration/run/evolve.ts';
    for (const source of [
      'node:fs',
      '@google-cloud/storage',
      '../../adapters/objectStore.ts',
      '../../runtime/dependencies.ts',
    ])
      expect(await lint(file, `import * as x from '${source}';\nexport const y = x;\n`), source).toHaveLength(
        1,
      );
  });

  it('lets a pure file import other pure code, and a shell import anything', async () => {
    expect(
      await lint(
        'shared/orchestration/run/evolve.ts',
        `import { keyOf } from '../state/projectionTables.ts';\nexport const k = keyOf;\n`,
      ),
    ).toEqual([]);
    expect(
      await lint(
        'shared/orchestration/run/triggerRun.ts',
        `import { readFile } from 'node:fs/promises';\nexport const r = readFile;\n`,
      ),
    ).toEqual([]);
  });
});
