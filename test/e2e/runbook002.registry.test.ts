import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningStack, startLocalStack } from '../support/localStack.ts';

/**
 * Runbook 002 (Data Contract Registry) against `npm start`: every curl of its procedures 1–3 and routine
 * tasks runs through bash exactly as written, with only `{...}` replaced by a real schema.
 */
describe('runbook 002 against npm start: the Data Contract Registry', () => {
  let stack: RunningStack;
  const env: Record<string, string> = {};
  const schema = (fields: Array<[string, unknown, unknown?]>) => ({
    type: 'record',
    name: 'mara_extraction',
    fields: fields.map(([name, type, def]) => ({
      name,
      type,
      ...(def !== undefined ? { default: def } : {}),
    })),
  });
  const v1 = schema([
    ['matnr', 'string'],
    ['maktx', 'string'],
  ]);
  const v2 = schema([
    ['matnr', 'string'],
    ['maktx', 'string'],
    ['currency', ['null', 'string'], null],
  ]);
  const broken = schema([
    ['matnr', 'string'],
    ['mtart', 'string'],
    ['currency', ['null', 'string'], null],
  ]);
  const fixed = schema([
    ['matnr', 'string'],
    ['maktx', 'string'],
    ['currency', ['null', 'string'], null],
    ['mtart', 'string', ''],
  ]);

  /** Runs a runbook command line in bash with the runbook's variables set; returns parsed JSON. */
  const sh = (command: string, vars: Record<string, string> = {}, schemaJson?: object) => {
    const line = schemaJson ? command.replace('{...}', JSON.stringify(schemaJson)) : command;
    const out = execFileSync('bash', ['-c', line], {
      env: { ...process.env, ...env, ...vars },
      encoding: 'utf8',
    });
    return JSON.parse(out) as Record<string, unknown> & { items: Array<Record<string, unknown>> };
  };
  const api = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${env.BASE}${path}`, {
      method,
      headers: { Authorization: `Bearer ${env.TOKEN}`, 'Content-Type': 'application/json', ...headers },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return (await response.json()) as Record<string, unknown>;
  };
  const currentSets = async (layer: string) => {
    const text = await (
      await fetch(`${env.BASE}/metrics`, { headers: { Authorization: `Bearer ${env.TOKEN}` } })
    ).text();
    return Number(
      new RegExp(`^dcr_current_set_total\\{layer="${layer}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0,
    );
  };
  const logLines = () =>
    readFileSync(join(stack.dataDir, 'functions.log'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  beforeAll(async () => {
    for (const [command, pkg] of [
      ['curl', 'curl'],
      ['uuidgen', 'uuid-runtime'],
    ])
      if (spawnSync('bash', ['-c', `command -v ${command}`]).status !== 0)
        throw new Error(
          `runbook 002's commands call ${command}, which is not installed: apt-get install ${pkg} (README, Set-up)`,
        );
    stack = await startLocalStack({ ARCO_DEMO: '0', ARCO_AUTOTICK: '0', ARCO_LOG_LEVEL: 'INFO' });
    env.BASE = stack.url;
    env.TOKEN = stack.token([
      '--tenant',
      'demo',
      '--workspace',
      'runbook002',
      '--roles',
      'producer,consumer,operator',
      '--subject',
      'registry-admin@svc',
    ]);
    const dataset = await api('POST', '/data-contract-registry/v1/datasets', {
      namespace: 'sap.mm',
      name: 'mara',
      owner: 'platform-admins',
    });
    env.DATASET_ID = String(dataset.dataset_id);
    env.LAYER = 'activation';
    for (const s of [v1, v2])
      await api('POST', `/data-contract-registry/v1/datasets/${env.DATASET_ID}/layers/activation/schemas`, {
        schema_json: s,
      });
    await api('POST', '/data-contract-registry/v1/subscriptions', {
      dataset_id: env.DATASET_ID,
      layer: 'activation',
      consumer: 'svc-activation-api',
      required_compatibility: 'backward',
    });
    // The incident: a producer ingests a breaking schema; the alert on dcr_breaking_changes_total fires.
    const bad = await api(
      'POST',
      `/data-contract-registry/v1/datasets/${env.DATASET_ID}/layers/activation/schemas`,
      { schema_json: broken },
    );
    expect(bad).toMatchObject({ version: 3, breaking: true, is_current: false });
  });
  afterAll(() => stack?.stop());

  it('procedure 1: investigate a breaking change signal and freeze promotions', async () => {
    // 1. List recent versions to confirm current has not changed.
    const versions = sh(
      `curl -s "$BASE/data-contract-registry/v1/datasets/$DATASET_ID/layers/$LAYER/versions?page=1&page_size=10"      -H "Authorization: Bearer $TOKEN"`,
    );
    expect(versions.items.map((v) => [v.version, v.is_current, v.breaking])).toEqual([
      [3, false, true],
      [2, true, false],
      [1, false, false],
    ]);
    // 2. Diff the candidate against current.
    const diff = sh(
      `curl -s "$BASE/data-contract-registry/v1/datasets/$DATASET_ID/layers/$LAYER/diff?from=$CURRENT&to=$CANDIDATE"      -H "Authorization: Bearer $TOKEN"`,
      { CURRENT: '2', CANDIDATE: '3' },
    );
    expect(diff).toMatchObject({ from: 2, to: 3, classification: 'breaking' });
    expect(
      (diff.changes as Array<{ op: string; field_path: string }>).map((c) => [c.op, c.field_path]),
    ).toEqual([
      ['remove_field', 'maktx'],
      ['add_field', 'mtart'],
    ]);
    // 3. Freeze: producers ingest with set_current_if_compatible=false; no current flip happens.
    const flipsBefore = await currentSets('activation');
    const frozen = sh(
      `curl -s -X POST "$BASE/data-contract-registry/v1/datasets/$DATASET_ID/layers/$LAYER/schemas"      -H "Authorization: Bearer $TOKEN"      -H "Content-Type: application/json"      -H "Idempotency-Key: $(uuidgen)"      -d '{"schema_json":{...},"set_current_if_compatible":false}'`,
      {},
      fixed,
    );
    expect(frozen).toMatchObject({ version: 4, is_current: false, breaking: false, current_version: 2 });
    expect(await currentSets('activation')).toBe(flipsBefore);
    // 4. Communicate impact to the subscribers of this dataset and layer.
    const subscribers = sh(
      `curl -s "$BASE/data-contract-registry/v1/subscriptions?dataset_id=$DATASET_ID&layer=activation"   -H "Authorization: Bearer $TOKEN"`,
    );
    expect(subscribers.items.map((s) => s.consumer)).toEqual(['svc-activation-api']);
  });

  it('procedure 2: recover from a bad ingest with a check and a fresh Idempotency Key', async () => {
    const key = 'bad-ingest-key-0001';
    const failed = await fetch(
      `${env.BASE}/data-contract-registry/v1/datasets/${env.DATASET_ID}/layers/raw/schemas`,
      {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${env.TOKEN}`,
          'Content-Type': 'application/json',
          'Idempotency-Key': key,
          'X-Correlation-Id': 'ticket-4711-ingest',
        },
        body: JSON.stringify({
          schema_json: { type: 'record', name: 'r', fields: [{ name: 'a', type: 'strin' }] },
        }),
      },
    );
    expect(failed.status).toBe(400);
    // 1. Inspect ingest logs for the correlation_id and the error code.
    const logged = logLines().find(
      (l) => l.correlation_id === 'ticket-4711-ingest' && l.event === 'dcr.request.completed',
    );
    expect(logged).toMatchObject({ status: 400, error_code: 'invalid_request' });
    // Reusing the key for another payload is refused: the runbook says to use a fresh one.
    const reused = await api(
      'POST',
      `/data-contract-registry/v1/datasets/${env.DATASET_ID}/layers/raw/schemas`,
      { schema_json: v1 },
      { 'Idempotency-Key': key },
    );
    expect(reused).toMatchObject({ code: 'conflict', details: { reason: 'idempotency_key_reused' } });

    env.LAYER = 'raw';
    await api('POST', `/data-contract-registry/v1/datasets/${env.DATASET_ID}/layers/raw/schemas`, {
      schema_json: v1,
    });
    // 2. Correct the schema locally and check it against a base version.
    const check = sh(
      `curl -s -X POST "$BASE/data-contract-registry/v1/compatibility/check"      -H "Authorization: Bearer $TOKEN"      -H "Content-Type: application/json"      -d '{"dataset_id":"'"$DATASET_ID"'","layer":"'"$LAYER"'","base_version":'"$BASE_VER"',"schema_json":{...}}'`,
      { BASE_VER: '1' },
      v2,
    );
    expect(check).toMatchObject({
      classification: 'compatible',
      base_version: 1,
      gate: { would_promote: true },
    });
    // 3. Retry the ingest with a fresh Idempotency Key.
    const retried = sh(
      `curl -s -X POST "$BASE/data-contract-registry/v1/datasets/$DATASET_ID/layers/$LAYER/schemas"      -H "Authorization: Bearer $TOKEN"      -H "Content-Type: application/json"      -H "Idempotency-Key: $(uuidgen)"      -d '{"schema_json":{...},"set_current_if_compatible":true}'`,
      {},
      v2,
    );
    expect(retried).toMatchObject({ version: 2, is_current: true, current_version: 2 });
    // Validation: the new version appears in the list and current flipped.
    const listed = sh(
      `curl -s "$BASE/data-contract-registry/v1/datasets/$DATASET_ID/layers/$LAYER/versions?page=1&page_size=20"   -H "Authorization: Bearer $TOKEN"`,
    );
    expect(listed.items[0]).toMatchObject({ version: 2, is_current: true });
  });

  it('procedure 3: a current flip anomaly is traced to actors and correlation ids', async () => {
    env.LAYER = 'gold';
    const correlation = 'ticket-4712-backfill';
    for (let i = 0; i < 3; i++)
      await api(
        'POST',
        `/data-contract-registry/v1/datasets/${env.DATASET_ID}/layers/gold/schemas`,
        {
          schema_json: schema([
            ['matnr', 'string'],
            ...Array.from({ length: i }, (_, j): [string, unknown, unknown] => [`f${j}`, 'int', 0]),
          ]),
        },
        { 'X-Correlation-Id': correlation },
      );
    // 1. The version timeline names who ingested and when each version became and stopped being current.
    const timeline = sh(
      `curl -s "$BASE/data-contract-registry/v1/datasets/$DATASET_ID/layers/$LAYER/versions?page=1&page_size=20"   -H "Authorization: Bearer $TOKEN"`,
    );
    expect(
      timeline.items.map((v) => [v.version, v.created_by, Boolean(v.promoted_at), Boolean(v.superseded_at)]),
    ).toEqual([
      [3, 'registry-admin@svc', true, false],
      [2, 'registry-admin@svc', true, true],
      [1, 'registry-admin@svc', true, true],
    ]);
    // 4. Correlate: the audit trail and the logs carry the same correlation_id.
    const audit = await api('GET', `/data-contract-registry/v1/audit?action=current.set&page_size=200`);
    const flips = (audit.items as Array<Record<string, unknown>>).filter((a) =>
      String(a.target).endsWith('/layers/gold'),
    );
    expect(flips.map((a) => [a.actor, a.correlation_id])).toEqual(
      Array(3).fill(['registry-admin@svc', correlation]),
    );
    expect(
      logLines().filter((l) => l.event === 'dcr.current.set' && l.correlation_id === correlation),
    ).toHaveLength(3);
  });

  it('routine tasks: export a schema by version', () => {
    const exported = sh(
      `curl -s "$BASE/data-contract-registry/v1/datasets/$DATASET_ID/layers/$LAYER/versions/$VERSION"   -H "Authorization: Bearer $TOKEN"`,
      { LAYER: 'activation', VERSION: '2' },
    );
    expect(exported).toMatchObject({ version: 2, schema_json: v2, is_current: true });
  });
});
