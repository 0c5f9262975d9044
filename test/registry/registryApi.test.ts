import { beforeAll, describe, expect, it } from 'vitest';
import { createGatewayApp } from '../../local/functionApps.ts';
import { apiClient } from '../support/apiClient.ts';
import { bearer, testDependencies, uniqueName } from '../support/testDependencies.ts';

const BASE = '/data-contract-registry/v1';
const mara = (extra: unknown[] = []) => ({
  type: 'record',
  name: 'mara_extraction',
  fields: [{ name: 'matnr', type: 'string' }, { name: 'maktx', type: 'string' }, ...extra],
});
const currency = { name: 'currency', type: ['null', 'string'], default: null };

describe('Data Contract Registry API', () => {
  let app: ReturnType<typeof createGatewayApp>;
  let producer: ReturnType<typeof apiClient>;
  let consumer: ReturnType<typeof apiClient>;
  let operator: ReturnType<typeof apiClient>;
  let lines: Array<Record<string, unknown>>;
  const workspace = uniqueName('w');

  const client = async (
    roles: Array<'producer' | 'consumer' | 'operator'>,
    ws = workspace,
    subject = `svc-${roles[0]}@svc`,
  ) => apiClient(app, await bearer({ tenant: 't', workspace: ws, roles, subject }));

  beforeAll(async () => {
    lines = [];
    const deps = await testDependencies({}, (line) => lines.push(JSON.parse(line)));
    app = createGatewayApp({
      ...deps,
      config: {
        ...deps.config,
        registry: {
          ...deps.config.registry,
          rateLimits: {
            write: { rps: 1000, burst: 1000 },
            check: { rps: 1000, burst: 1000 },
            read: { rps: 1000, burst: 1000 },
          },
        },
      },
    });
    producer = await client(['producer']);
    consumer = await client(['consumer']);
    operator = await client(['operator']);
  });

  const createDataset = async (name = uniqueName('mara')) => {
    const created = await producer.post(`${BASE}/datasets`, {
      namespace: 'sap.mm',
      name,
      owner: 'platform-admins',
    });
    expect(created.status).toBe(201);
    return created.body.dataset_id as string;
  };
  const ingest = (
    datasetId: string,
    layer: string,
    schema: object,
    extra: Record<string, unknown> = {},
    headers = {},
  ) =>
    producer.post(
      `${BASE}/datasets/${datasetId}/layers/${layer}/schemas`,
      { schema_json: schema, ...extra },
      headers,
    );

  it('creates, lists and reads datasets, refusing duplicates, unknown fields and the wrong role', async () => {
    const name = uniqueName('mara');
    const created = await producer.post(`${BASE}/datasets`, {
      namespace: 'sap.mm',
      name,
      owner: 'platform-admins',
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`${BASE}/datasets/${created.body.dataset_id}`);
    expect(created.body).toMatchObject({
      namespace: 'sap.mm',
      name,
      steward: null,
      status: 'active',
      created_by: 'svc-producer@svc',
    });
    const duplicate = await producer.post(`${BASE}/datasets`, { namespace: 'sap.mm', name, owner: 'x' });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body).toMatchObject({
      code: 'conflict',
      details: { reason: 'duplicate', existing_id: created.body.dataset_id },
    });
    const extra = await producer.post(`${BASE}/datasets`, { namespace: 'a', name: 'b', owner: 'c', tier: 1 });
    expect(extra.status).toBe(400);
    expect(extra.body).toMatchObject({
      code: 'invalid_request',
      details: { field: 'tier' },
      correlation_id: expect.any(String),
    });
    expect((await consumer.post(`${BASE}/datasets`, { namespace: 'a', name: 'b', owner: 'c' })).status).toBe(
      403,
    );

    const listed = await consumer.get(`${BASE}/datasets?namespace=sap.mm&name=${name}&page=1&page_size=10`);
    expect(listed.body).toMatchObject({
      page: 1,
      page_size: 10,
      total: 1,
      items: [{ dataset_id: created.body.dataset_id }],
    });
    const all = await operator.get(`${BASE}/datasets?name=`);
    expect(all.body.total).toBeGreaterThanOrEqual(1);
    expect((await operator.get(`${BASE}/datasets?page_size=201`)).body).toMatchObject({
      details: { field: 'page_size' },
    });
    expect((await operator.get(`${BASE}/datasets?status=gone`)).status).toBe(400);
    const fetched = await operator.get(`${BASE}/datasets/${created.body.dataset_id}`);
    expect(fetched.body).toMatchObject({
      name,
      layers: { raw: { current_version: null, latest_version: 0 } },
    });
    expect((await operator.get(`${BASE}/datasets/${crypto.randomUUID()}`)).status).toBe(404);
    expect((await operator.get(`${BASE}/datasets/not-a-uuid`)).body).toMatchObject({
      details: { field: 'dataset_id' },
    });
  });

  it('keeps a workspace invisible to another workspace token', async () => {
    const datasetId = await createDataset();
    const stranger = await client(['operator', 'producer'], uniqueName('other'));
    expect((await stranger.get(`${BASE}/datasets/${datasetId}`)).status).toBe(404);
    expect((await stranger.get(`${BASE}/datasets/${datasetId}/layers/raw/versions`)).status).toBe(404);
    expect(
      (await stranger.post(`${BASE}/datasets/${datasetId}/layers/raw/schemas`, { schema_json: mara() }))
        .status,
    ).toBe(404);
  });

  it('versions a layer: first version current, compatible change promoted, breaking held, freeze and dedup promotion', async () => {
    const datasetId = await createDataset();
    const v1 = await ingest(datasetId, 'extraction', mara());
    expect(v1.status).toBe(201);
    expect(v1.body).toMatchObject({
      version: 1,
      is_current: true,
      compatibility: 'both',
      classification: 'none',
      base_version: null,
      current_version: 1,
      deduplicated: false,
    });
    const v2 = await ingest(datasetId, 'extraction', mara([currency]));
    expect(v2.body).toMatchObject({
      version: 2,
      is_current: true,
      classification: 'compatible',
      base_version: 1,
      current_version: 2,
    });

    const diff = await consumer.get(`${BASE}/datasets/${datasetId}/layers/extraction/diff?from=1&to=2`);
    expect(diff.body).toEqual({
      from: 1,
      to: 2,
      changes: [
        {
          op: 'add_field',
          path: '/fields/-',
          field_path: 'currency',
          field: { name: 'currency', type: ['null', 'string'], optional: true, default: null },
        },
      ],
      classification: 'compatible',
      compatibility: 'both',
    });

    const breaking = {
      type: 'record',
      name: 'mara_extraction',
      fields: [{ name: 'matnr', type: 'string' }, { name: 'mtart', type: 'string' }, currency],
    };
    const v3 = await ingest(datasetId, 'extraction', breaking);
    expect(v3.body).toMatchObject({
      version: 3,
      is_current: false,
      classification: 'breaking',
      breaking: true,
      current_version: 2,
    });
    expect(v3.body.unmet).toEqual([
      { requirement: 'not_breaking', against_version: 2, required: 'any', actual: 'none' },
      { requirement: 'default_backward', against_version: 2, required: 'backward', actual: 'none' },
    ]);

    const frozen = await ingest(
      datasetId,
      'extraction',
      mara([currency, { name: 'werks', type: 'string', default: '' }]),
      { set_current_if_compatible: false },
    );
    expect(frozen.body).toMatchObject({
      version: 4,
      is_current: false,
      breaking: false,
      current_version: 2,
      base_version: 2,
    });
    const promoted = await ingest(
      datasetId,
      'extraction',
      mara([currency, { name: 'werks', type: 'string', default: '' }]),
    );
    expect(promoted.status).toBe(200);
    expect(promoted.body).toMatchObject({
      version: 4,
      is_current: true,
      deduplicated: true,
      current_version: 4,
    });

    const versions = await operator.get(
      `${BASE}/datasets/${datasetId}/layers/extraction/versions?page=1&page_size=10`,
    );
    expect(versions.body.total).toBe(4);
    expect(
      (versions.body.items as Array<Record<string, unknown>>).map((v) => [v.version, v.is_current]),
    ).toEqual([
      [4, true],
      [3, false],
      [2, false],
      [1, false],
    ]);
    expect((versions.body.items as Array<Record<string, unknown>>)[2]).toMatchObject({
      superseded_at: expect.any(String),
    });
    const exported = await consumer.get(`${BASE}/datasets/${datasetId}/layers/extraction/versions/2`);
    expect(exported.body).toMatchObject({
      version: 2,
      schema_json: mara([currency]),
      superseded_by: 4,
      is_current: false,
    });
    expect(JSON.stringify(exported.body.schema_json)).toBe(JSON.stringify(mara([currency])));
    expect(
      (await consumer.get(`${BASE}/datasets/${datasetId}/layers/extraction/versions/current`)).body,
    ).toMatchObject({ version: 4 });
    expect((await consumer.get(`${BASE}/datasets/${datasetId}/layers/extraction/versions/9`)).status).toBe(
      404,
    );
    expect((await consumer.get(`${BASE}/datasets/${datasetId}/layers/bronze/versions`)).body).toMatchObject({
      message: 'layer must be one of extraction, raw, gold, activation',
      details: { field: 'layer' },
    });
    const empty = await consumer.get(`${BASE}/datasets/${datasetId}/layers/gold/versions`);
    expect(empty.body).toEqual({ items: [], page: 1, page_size: 50, total: 0 });

    const audit = await operator.get(`${BASE}/audit?action=current.set`);
    expect(
      (audit.body.items as Array<{ target: string }>).filter((a) =>
        a.target.startsWith(`datasets/${datasetId}`),
      ),
    ).toHaveLength(3);
  });

  it('rejects invalid schemas with a field path, and `optional` with a hint', async () => {
    const datasetId = await createDataset();
    const bad = await ingest(datasetId, 'raw', {
      type: 'record',
      name: 'r',
      fields: [{ name: 'a', type: 'strin' }],
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({
      code: 'invalid_request',
      details: { reason: 'invalid_avro_schema', field: 'schema_json' },
    });
    const optional = await ingest(datasetId, 'raw', {
      type: 'record',
      name: 'r',
      fields: [{ name: 'a', type: 'string', optional: true }],
    });
    expect(optional.body).toMatchObject({
      details: { reason: 'use_default', field: 'schema_json.fields.0.optional' },
    });
    const onlyId = await producer.post(`${BASE}/datasets/${datasetId}/layers/raw/schemas`, {
      schema_registry_id: 'srn:schema-registry:12345',
    });
    expect(onlyId.body).toMatchObject({ details: { field: 'schema_json' } });
    const badDefault = await ingest(datasetId, 'raw', {
      type: 'record',
      name: 'r',
      fields: [{ name: 'a', type: ['null', 'string'], default: 'x' }],
    });
    expect(badDefault.status).toBe(400);
  });

  it('replays an Idempotency-Key byte for byte, refuses it for another payload, and keeps a bad ingest outcome', async () => {
    const datasetId = await createDataset();
    const key = crypto.randomUUID();
    const first = await app.request(`${BASE}/datasets/${datasetId}/layers/raw/schemas`, {
      method: 'POST',
      headers: {
        ...(await bearer({ tenant: 't', workspace, roles: ['producer'], subject: 'svc-producer@svc' })),
        'content-type': 'application/json',
        'idempotency-key': key,
      },
      body: JSON.stringify({ schema_json: mara() }),
    });
    const firstText = await first.text();
    const again = await app.request(`${BASE}/datasets/${datasetId}/layers/raw/schemas`, {
      method: 'POST',
      headers: {
        ...(await bearer({ tenant: 't', workspace, roles: ['producer'], subject: 'svc-producer@svc' })),
        'content-type': 'application/json',
        'idempotency-key': key,
      },
      body: JSON.stringify({ schema_json: mara() }),
    });
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await again.text()).toBe(firstText);
    const other = await ingest(datasetId, 'raw', mara([currency]), {}, { 'Idempotency-Key': key });
    expect(other.status).toBe(409);
    expect(other.body).toMatchObject({
      details: { reason: 'idempotency_key_reused', field: 'Idempotency-Key' },
    });

    const badKey = crypto.randomUUID();
    const broken = { type: 'record', name: 'mara_extraction', fields: [{ name: 'matnr', type: 'strng' }] };
    const bad = await ingest(datasetId, 'raw', broken, {}, { 'Idempotency-Key': badKey });
    const badAgain = await ingest(datasetId, 'raw', broken, {}, { 'Idempotency-Key': badKey });
    expect(bad.status).toBe(400);
    expect(badAgain.body).toEqual(bad.body);
    expect(badAgain.headers.get('idempotent-replayed')).toBe('true');
    const fixed = await ingest(
      datasetId,
      'raw',
      mara([currency]),
      {},
      { 'Idempotency-Key': crypto.randomUUID() },
    );
    expect(fixed.body).toMatchObject({ version: 2, is_current: true });
    expect(
      (await ingest(datasetId, 'raw', mara(), {}, { 'Idempotency-Key': 'bad key with spaces' })).body,
    ).toMatchObject({
      details: { field: 'Idempotency-Key' },
    });
  });

  it('holds back a promotion that breaks a subscription, and dry-runs it through the compatibility check', async () => {
    const datasetId = await createDataset();
    await ingest(datasetId, 'activation', mara());
    const sub = await consumer.post(`${BASE}/subscriptions`, {
      dataset_id: datasetId,
      layer: 'activation',
      consumer: 'svc-activation-api',
      required_compatibility: 'both',
    });
    expect(sub.status).toBe(201);
    expect(sub.body).toMatchObject({ min_version: 1, required_compatibility: 'both' });
    const again = await consumer.post(`${BASE}/subscriptions`, {
      dataset_id: datasetId,
      layer: 'activation',
      consumer: 'svc-activation-api',
      required_compatibility: 'forward',
    });
    expect(again.body).toMatchObject({
      code: 'conflict',
      details: { reason: 'duplicate', existing_id: sub.body.subscription_id },
    });
    expect(
      (
        await consumer.post(`${BASE}/subscriptions`, {
          dataset_id: datasetId,
          layer: 'bronze',
          consumer: 'x',
          required_compatibility: 'both',
        })
      ).body,
    ).toMatchObject({
      message: 'layer must be one of extraction, raw, gold, activation',
    });
    expect(
      (
        await producer.post(`${BASE}/subscriptions`, {
          dataset_id: datasetId,
          layer: 'raw',
          consumer: 'x',
          required_compatibility: 'both',
        })
      ).status,
    ).toBe(403);
    expect(
      (
        await consumer.post(`${BASE}/subscriptions`, {
          dataset_id: crypto.randomUUID(),
          layer: 'raw',
          consumer: 'x',
          required_compatibility: 'both',
        })
      ).body,
    ).toMatchObject({
      code: 'not_found',
      details: { field: 'dataset_id' },
    });

    // Removing a required field is backward-only: fine by default, not for a consumer who needs both.
    const narrower = { type: 'record', name: 'mara_extraction', fields: [{ name: 'matnr', type: 'string' }] };
    const check = await consumer.post(`${BASE}/compatibility/check`, {
      dataset_id: datasetId,
      layer: 'activation',
      base_version: 1,
      schema_json: narrower,
    });
    expect(check.body).toMatchObject({
      classification: 'backward',
      compatibility: 'backward',
      base_version: 1,
      changes: [{ op: 'remove_field', path: '/fields/1', field_path: 'maktx' }],
      gate: { breaking: true, would_promote: false },
      incompatibilities: {
        forward: [{ field_path: 'maktx', reason: expect.stringContaining('required by the reader') }],
      },
    });
    const held = await ingest(datasetId, 'activation', narrower);
    expect(held.body).toMatchObject({
      version: 2,
      is_current: false,
      breaking: true,
      classification: 'backward',
    });
    expect(held.body.unmet).toEqual([
      {
        requirement: 'subscription',
        against_version: 1,
        required: 'both',
        actual: 'backward',
        subscription_id: sub.body.subscription_id,
        consumer: 'svc-activation-api',
      },
    ]);
    const subs = await operator.get(`${BASE}/subscriptions?dataset_id=${datasetId}&layer=activation`);
    expect(subs.body).toMatchObject({
      total: 1,
      page: 1,
      page_size: 50,
      items: [{ consumer: 'svc-activation-api' }],
    });
    expect((await operator.get(`${BASE}/subscriptions?layer=bronze`)).status).toBe(400);
  });

  it('gives concurrent ingests distinct contiguous versions and exactly one current', async () => {
    const datasetId = await createDataset();
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        ingest(
          datasetId,
          'gold',
          mara(Array.from({ length: i + 1 }, (_, j) => ({ name: `f${j}`, type: 'int', default: 0 }))),
        ),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(6).fill(201));
    expect(results.map((r) => r.body.version as number).sort()).toEqual([1, 2, 3, 4, 5, 6]);
    const versions = await operator.get(`${BASE}/datasets/${datasetId}/layers/gold/versions`);
    expect((versions.body.items as Array<{ is_current: boolean }>).filter((v) => v.is_current)).toHaveLength(
      1,
    );
  });

  it('exports the runbook metrics and logs with the correlation id', async () => {
    const datasetId = await createDataset();
    await ingest(datasetId, 'raw', mara(), {}, { 'X-Correlation-Id': 'runbook-corr-0001' });
    const metrics = await (
      await app.request('/metrics', {
        headers: await bearer({ tenant: 't', workspace, roles: ['operator'] }),
      })
    ).text();
    for (const name of [
      'dcr_schema_ingests_total{layer="raw",result="ok"}',
      'dcr_current_set_total{layer="raw"}',
      'dcr_version_classifications_total{layer="raw",classification="none"}',
      'dcr_diff_latency_ms_count{layer="raw"}',
      'registry_store_latency_ms_count{operation="write"}',
      'api_requests_total{route="/data-contract-registry/v1/datasets/:dataset_id/layers/:layer/schemas",method="POST",status="201"}',
    ])
      expect(metrics).toContain(name);
    const ingested = lines.find(
      (l) => l.event === 'dcr.schema.ingested' && l.correlation_id === 'runbook-corr-0001',
    );
    expect(ingested).toMatchObject({
      dataset_id: datasetId,
      layer: 'raw',
      version: 1,
      namespace: null,
      consumer: null,
      severity: 'INFO',
    });
    expect(
      lines.find((l) => l.event === 'dcr.request.completed' && l.correlation_id === 'runbook-corr-0001'),
    ).toMatchObject({
      status: 201,
      method: 'POST',
      duration_ms: expect.any(Number),
    });
  });
});
