import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../shared/adapters/clock.ts';
import { runAutomationTick } from '../../shared/orchestration/automationTick.ts';
import { compactorFor, ledgerFor } from '../../shared/orchestration/orchestrationServices.ts';
import { testDependencies, uniqueName } from '../support/testDependencies.ts';

/** The structured log fields terraform's log-based metrics and alerts read (terraform/monitoring.tf). */
describe('operational signals in the logs', () => {
  it('logs compaction lag and automation ticks with the fields the alerts extract', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const clock = new ManualClock(new Date());
    const deps = await testDependencies({ clock }, (line) => lines.push(JSON.parse(line)));
    const scope = { tenant: 'acme', workspace: uniqueName('ws') };
    // No hint: the compaction below is the one whose lag is measured.
    await ledgerFor(deps, scope, { hint: false }).append([
      { data: { type: 'run_triggered', runId: 'r1', planId: 'p1', trigger: {}, rootAssets: [] } },
    ]);
    clock.advance(1500);
    await compactorFor(deps, scope).drain();
    const published = lines.find((l) => l.message === 'compaction published');
    expect(published).toMatchObject({ severity: 'INFO', events: 1, lag_ms: 1500 });

    await runAutomationTick(deps, scope, new Date('2026-11-23T12:00:00Z'));
    expect(lines.find((l) => l.message === 'automation tick')).toMatchObject({
      tenant: 'acme',
      workspace: scope.workspace,
      now: '2026-11-23T12:00:00.000Z',
      heartbeatTimeouts: 0,
    });
  });
});
