import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningStack, startLocalStack } from '../support/localStack.ts';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = join(import.meta.dirname, '..', '..', 'test-output', 'ui');

/**
 * The operator UI in a real browser (Debian chromium driven by playwright-core, nothing but loopback
 * reachable) against `npm start` with its demo: sign in, runs → run → partition → table version, the
 * automation and registry pages, and a backfill button. Every page is saved under test-output/ui/.
 */
describe('operator UI in chromium', () => {
  let stack: RunningStack;
  let browser: Browser;
  let page: Page;
  let token: string;
  const api = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${stack.url}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return (await response.json()) as Record<string, unknown>;
  };
  const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(`${CHROMIUM} is missing: install the Debian chromium package (.ci/run does)`);
    mkdirSync(SHOTS, { recursive: true });
    stack = await startLocalStack({ ARCO_AUTOTICK: '0' });
    token = stack.token(['--tenant', 'demo', '--workspace', 'demo', '--roles', 'operator,producer,consumer']);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-default-apps',
        '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    // A whole stack and a browser: under the full suite on 2 cores this took just over the default 60 s.
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('signs in, and reaches a failed task’s error, attempts and failure class from the runs list in one click', async () => {
    await page.goto(`${stack.url}/`);
    expect(page.url()).toContain('/ui/login');
    await shot('login');
    await page.getByRole('button', { name: 'Dev login' }).click();
    await page.waitForURL('**/ui/runs');
    // The demo run is terminal (FAILED: a data-quality failure) once npm start reported ready plus a moment.
    const failedRun = page.locator('table tbody tr', { has: page.locator('.badge', { hasText: 'FAILED' }) });
    for (let i = 0; i < 60 && !(await failedRun.count()); i++) {
      await new Promise((r) => setTimeout(r, 500));
      await page.reload();
    }
    await expect.poll(() => page.locator('table tbody tr').count()).toBeGreaterThan(0);
    await shot('runs');
    await failedRun.first().getByRole('link').first().click();
    await page.waitForURL('**/ui/runs/*');
    const failed = page.locator('#task-ml\\.churn_features');
    await expect.poll(() => failed.innerText()).toContain('CONTRACT_VIOLATION');
    await shot('run-detail');
    expect(await failed.innerText()).toContain('missing required columns [tenure_days]');
    expect(await failed.innerText()).toMatch(/1 of 3/);
    const retried = await page.locator('#task-analytics\\.orders').innerText();
    expect(retried).toContain('retry 1: prior_attempt_failed');
    expect(await page.locator('#task-activation\\.churn_alerts').innerText()).toContain(
      'skipped: upstream ml.churn_features FAILED',
    );
    expect(await page.locator('svg[role=img]').count()).toBe(1);
    expect(await failed.innerText()).toContain('retry category C');
    await failed.getByRole('link', { name: 'step manifest' }).click();
    await page.waitForURL('**/ui/manifests?*');
    await expect
      .poll(() => page.locator('pre').innerText())
      .toContain('"failureClass": "CONTRACT_VIOLATION"');
    await shot('step-manifest');
    await page.goBack();
  });

  it('clicks through run → partition heatmap → Delta table version', async () => {
    const lineageLink = page
      .locator('#task-analytics\\.orders')
      .getByRole('link', { name: /analytics\.orders v\d+/ });
    const label = (await lineageLink.innerText())!;
    await page.locator('#task-analytics\\.orders').getByRole('link', { name: /date=/ }).click();
    await page.waitForURL('**/ui/partitions?asset=*');
    expect(await page.locator('table.heatmap').count()).toBe(1);
    await shot('partitions');
    await page.goBack();
    await lineageLink.click();
    await page.waitForURL('**/ui/delta/*');
    const version = label.split(' v')[1]!;
    expect(await page.locator(`#v${version}`).innerText()).toContain('selected');
    await shot('delta-table');
    await page.getByRole('link', { name: 'Delta tables' }).click();
    await shot('delta-tables');
  });

  it('shows schedules, sensors, backfills, and pauses a backfill with its button', async () => {
    await api('POST', '/api/v1/workspaces/demo/backfills', {
      assetSelection: ['raw.orders'],
      partitionSelector: { type: 'range', start: '2026-11-01', end: '2026-11-10' },
      chunkSize: 2,
      maxConcurrentRuns: 2,
      clientRequestId: 'ui-test',
    });
    const internal = stack.token(['--internal', '--tenant', 'demo', '--workspace', 'demo']);
    // Publish now rather than at the next cadence, so the tick and then the pages see every change.
    const settle = () =>
      fetch(`${stack.url}/compactor/compact`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${internal}` },
      });
    await settle();
    await fetch(`${stack.url}/internal/automation/tick`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${internal}`, 'Content-Type': 'application/json' },
      body: '{}',
    });
    await settle();
    await page.goto(`${stack.url}/ui/schedules`);
    const nightly = page.locator('section', { hasText: 'nightly_raw_orders' });
    expect(await nightly.locator('.badge', { hasText: 'TRIGGERED' }).count()).toBe(1);
    expect(await page.getByRole('heading', { name: /nightly_raw_orders/ }).count()).toBe(1);
    await shot('schedules');
    await page.goto(`${stack.url}/ui/sensors`);
    expect(await page.getByRole('heading', { name: /orders_arrivals/ }).count()).toBe(1);
    await shot('sensors');
    await page.goto(`${stack.url}/ui/backfills`);
    await page
      .getByRole('button', { name: /^pause backfill/ })
      .first()
      .click();
    await page.waitForURL('**/ui/backfills');
    expect(await page.locator('table tbody tr').first().innerText()).toContain('PAUSED');
    expect(await page.getByRole('button', { name: /^resume backfill/ }).count()).toBe(1);
    await shot('backfills');
  });

  it('answers the daily checklist for a pipeline day in four panels', async () => {
    const started = await api('POST', '/api/v1/workspaces/demo/pipelines/daily/runs', {
      start: 'today',
      end: 'today',
    });
    expect(started).toMatchObject({ backfillId: expect.any(String) });
    await page.goto(`${stack.url}/ui/pipelines`);
    const panel = () => page.locator('section', { hasText: "1. Did the day's run succeed?" }).innerText();
    for (let i = 0; i < 40 && !(await panel()).includes('SUCCEEDED'); i++) {
      await new Promise((r) => setTimeout(r, 500));
      await page.reload();
    }
    expect(await panel()).toContain('SUCCEEDED');
    // The next automation tick publishes the day's pointer.
    await fetch(`${stack.url}/internal/automation/tick`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${stack.token(['--internal', '--tenant', 'demo', '--workspace', 'demo'])}`,
        'Content-Type': 'application/json',
      },
      body: '{}',
    });
    await page.reload();
    expect(
      await page.locator('section', { hasText: '4. Were the current pointers updated?' }).innerText(),
    ).toContain('analytics.daily_revenue: promoted');
    expect(await page.getByRole('heading', { name: '3. Do manifests exist for every step?' }).count()).toBe(
      1,
    );
    await shot('pipeline-checklist');
  });

  it('answers a day that is not a date with an error page', async () => {
    const badDay = await page.goto(`${stack.url}/ui/pipelines?date=2026-13-45`);
    expect(badDay?.status()).toBe(400);
    expect(await page.getByRole('alert').innerText()).toContain('dates must be YYYY-MM-DD');
  });

  it('shows contract datasets, their layer versions, and a side-by-side diff', async () => {
    const dataset = await api('POST', '/data-contract-registry/v1/datasets', {
      namespace: 'sap.mm',
      name: 'mara',
      owner: 'platform-admins',
    });
    const schema = (extra: unknown[]) => ({
      type: 'record',
      name: 'mara',
      fields: [{ name: 'matnr', type: 'string' }, ...extra],
    });
    const ingest = (s: object) =>
      api('POST', `/data-contract-registry/v1/datasets/${dataset.dataset_id}/layers/raw/schemas`, {
        schema_json: s,
      });
    await ingest(schema([]));
    await ingest(schema([{ name: 'currency', type: ['null', 'string'], default: null }]));
    await page.goto(`${stack.url}/ui/registry`);
    await shot('registry');
    await page.getByRole('link', { name: 'sap.mm.mara' }).click();
    await shot('registry-dataset');
    await page.locator('section', { hasText: 'raw' }).getByRole('button', { name: 'Diff' }).click();
    await page.waitForURL('**/diff?*');
    expect(await page.locator('main').innerText()).toContain('add_field');
    expect(await page.locator('.diff pre').count()).toBe(2);
    await shot('registry-diff');
  });
});
