import { beforeAll, describe, expect, it } from 'vitest';
import { createGatewayApp } from '../../local/functionApps.ts';
import { bearer, testDependencies, uniqueName } from '../support/testDependencies.ts';

const BASE = '/data-contract-registry/v1';
const MAX_LONG = '9223372036854775807';
const YEAR_3000_MICROS = '32503679999999000';

/**
 * Schemas travel here as raw JSON text: a test client that went through JSON.parse/JSON.stringify would
 * round the very digits under test.
 */
describe('registry API: schemas as ingested (64-bit defaults) and decimal changes', () => {
  let app: ReturnType<typeof createGatewayApp>;
  let producer: Record<string, string>;
  let consumer: Record<string, string>;
  const workspace = uniqueName('w');

  beforeAll(async () => {
    const deps = await testDependencies();
    app = createGatewayApp(deps);
    producer = await bearer({ tenant: 't', workspace, roles: ['producer'], subject: 'svc-producer@svc' });
    consumer = await bearer({ tenant: 't', workspace, roles: ['consumer'], subject: 'svc-consumer@svc' });
  });

  const post = (path: string, text: string) =>
    app.request(`${BASE}${path}`, {
      method: 'POST',
      headers: { ...producer, 'content-type': 'application/json' },
      body: text,
    });
  const get = (path: string) => app.request(`${BASE}${path}`, { headers: consumer });
  const createDataset = async () => {
    const response = await post(
      '/datasets',
      JSON.stringify({ namespace: 'sap.mm', name: uniqueName('events'), owner: 'platform-admins' }),
    );
    expect(response.status).toBe(201);
    return ((await response.json()) as { dataset_id: string }).dataset_id;
  };
  const schema = (...fields: string[]) => `{"type":"record","name":"events","fields":[${fields.join(',')}]}`;
  const ingest = (datasetId: string, schemaText: string) =>
    post(`/datasets/${datasetId}/layers/raw/schemas`, `{"schema_json":${schemaText}}`);

  it('stores and answers long defaults beyond 2^53 with their exact digits', async () => {
    const datasetId = await createDataset();
    const v1Text = schema(
      `{"name":"max","type":"long","default":${MAX_LONG}}`,
      `{"name":"until","type":{"type":"long","logicalType":"timestamp-micros"},"default":${YEAR_3000_MICROS}}`,
    );
    const v1 = await ingest(datasetId, v1Text);
    expect(v1.status).toBe(201);
    expect(await v1.json()).toMatchObject({ version: 1, is_current: true });

    const stored = await get(`/datasets/${datasetId}/layers/raw/versions/1`);
    expect(stored.status).toBe(200);
    expect(await stored.text()).toContain(`"schema_json":${v1Text}`);

    // One digit less is another schema (another hash), not a deduplicated ingest.
    const v2Text = v1Text.replace(MAX_LONG, '9223372036854775806');
    const v2 = await ingest(datasetId, v2Text);
    expect(v2.status).toBe(201);
    expect(await v2.json()).toMatchObject({ version: 2, deduplicated: false, classification: 'compatible' });

    const diff = await get(`/datasets/${datasetId}/layers/raw/diff?from=1&to=2`);
    expect(await diff.text()).toContain(
      `{"op":"change_default","path":"/fields/0/default","field_path":"max","from_default":${MAX_LONG},"to_default":9223372036854775806}`,
    );

    const check = await post(
      '/compatibility/check',
      `{"dataset_id":"${datasetId}","layer":"raw","base_version":1,"schema_json":${v2Text}}`,
    );
    expect(check.status).toBe(200);
    expect(await check.text()).toContain(`"from_default":${MAX_LONG}`);
  });

  it('refuses a default outside the long range with 400 and stores nothing', async () => {
    const datasetId = await createDataset();
    const refused = await ingest(
      datasetId,
      schema('{"name":"max","type":"long","default":9223372036854775808}'),
    );
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({
      code: 'invalid_request',
      message:
        'invalid default of field max: 9223372036854775808 is outside the Avro long range [-9223372036854775808, 9223372036854775807]',
      details: { field: 'schema_json.fields.0.default', reason: 'invalid_default' },
      correlation_id: expect.any(String),
    });
    const versions = await get(`/datasets/${datasetId}/layers/raw/versions`);
    expect(((await versions.json()) as { total: number }).total).toBe(0);
  });

  it('holds back a decimal scale change as breaking and shows both precisions and scales', async () => {
    const datasetId = await createDataset();
    const price = (scale: number) =>
      schema(
        `{"name":"price","type":{"type":"bytes","logicalType":"decimal","precision":10,"scale":${scale}}}`,
      );
    expect((await ingest(datasetId, price(2))).status).toBe(201);
    const v2 = await ingest(datasetId, price(4));
    expect(v2.status).toBe(201);
    expect(await v2.json()).toMatchObject({
      version: 2,
      is_current: false,
      compatibility: 'none',
      classification: 'breaking',
      breaking: true,
      current_version: 1,
    });
    const diff = await get(`/datasets/${datasetId}/layers/raw/diff?from=1&to=2`);
    expect(await diff.json()).toEqual({
      from: 1,
      to: 2,
      changes: [
        {
          op: 'change_decimal',
          path: '/fields/0/type',
          field_path: 'price',
          from_precision: 10,
          to_precision: 10,
          from_scale: 2,
          to_scale: 4,
        },
      ],
      classification: 'breaking',
      compatibility: 'none',
    });
    const check = await post(
      '/compatibility/check',
      JSON.stringify({
        dataset_id: datasetId,
        layer: 'raw',
        schema_json: JSON.parse(price(4)) as object,
      }),
    );
    const verdict = (await check.json()) as {
      classification: string;
      incompatibilities: { backward: Array<{ field_path: string; reason: string }> };
    };
    expect(verdict.classification).toBe('breaking');
    expect(verdict.incompatibilities.backward).toEqual([
      expect.objectContaining({
        field_path: 'price',
        reason: expect.stringContaining(
          'decimal(precision 10, scale 2) cannot be read as decimal(precision 10, scale 4)',
        ),
      }),
    ]);
  });
});
