import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { emulatorJavaOptions } from '../../local/emulators.ts';

describe('the emulator launcher', () => {
  it('names every missing piece instead of failing with a spawn error', () => {
    let message = '';
    try {
      execFileSync(
        process.execPath,
        [
          '--import',
          'tsx',
          '-e',
          "const { checkPrerequisites } = await import('./local/emulators.ts'); checkPrerequisites();",
        ],
        {
          env: { ...process.env, ARCO_GCLOUD_SDK_ROOT: '/nonexistent/google-cloud-sdk' },
          encoding: 'utf8',
          stdio: 'pipe',
        },
      );
    } catch (error) {
      message = String((error as { stderr?: string }).stderr);
    }
    expect(message).toContain('Cannot start the local GCP stack');
    expect(message).toContain(
      'the gcloud Firestore emulator is missing: /nonexistent/google-cloud-sdk/platform/cloud-firestore-emulator',
    );
    expect(message).toContain(
      'the gcloud Pub/Sub emulator is missing: /nonexistent/google-cloud-sdk/platform/pubsub-emulator',
    );
  });

  it('gives the emulators C1 and the serial collector, keeping a collector the user chose', () => {
    expect(emulatorJavaOptions()).toBe('-XX:TieredStopAtLevel=1 -XX:+UseSerialGC');
    expect(emulatorJavaOptions('-Xmx1g')).toBe('-Xmx1g -XX:TieredStopAtLevel=1 -XX:+UseSerialGC');
    expect(emulatorJavaOptions('-XX:+UseG1GC')).toBe('-XX:+UseG1GC -XX:TieredStopAtLevel=1');
  });
});
