import avro from 'avsc';
import { createGatewayApp } from '../local/functionApps.ts';
import { mintLocalToken } from '../shared/auth/localTokens.ts';
import { compareSchemas } from '../shared/registry/compatibility.ts';
import { diffSchemas } from '../shared/registry/schemaDiff.ts';
import { SchemaCache } from '../shared/registry/schemaCache.ts';
import { validateSchema } from '../shared/registry/schemaValidation.ts';
import { benchDependencies } from './benchDependencies.ts';
import { fmt, percentile } from './benchStack.ts';

const SECRET = 'bench-secret';
const TYPES = ['string', 'int', 'long', ['null', 'string'], { type: 'array', items: 'double' }];

/** A record of `n` fields over a few types; `evolved` adds an optional field and widens one int. */
function wideSchema(n: number, evolved = false) {
  const fields = Array.from({ length: n }, (_, i) => ({
    name: `f${i}`,
    type: evolved && i === 1 ? 'long' : TYPES[i % TYPES.length],
  }));
  if (evolved) fields.push({ name: 'added', type: ['null', 'string'], default: null } as never);
  return { type: 'record', name: 'wide', fields };
}

function sample(iterations: number, work: () => void): number[] {
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const started = performance.now();
    work();
    samples.push(performance.now() - started);
  }
  return samples;
}

const line = (label: string, samples: number[]) =>
  `${label.padEnd(34)} p50 ${fmt(percentile(samples, 50), 3).padStart(8)} ms   p95 ${fmt(percentile(samples, 95), 3).padStart(8)} ms`;

/**
 * Diff and check latency for 10-, 100- and 1 000-field schemas (cold: parse + resolve + diff; warm:
 * through the schema cache), against avsc's own resolver on the same pair as the baseline; then
 * ingest throughput through the API on the Firestore emulator against plain document writes.
 */
export async function benchRegistry(): Promise<void> {
  for (const n of [10, 100, 1000]) {
    const oldJson = wideSchema(n);
    const newJson = wideSchema(n, true);
    const iterations = n === 1000 ? 60 : 300;
    const cold = sample(iterations, () => {
      const a = validateSchema(oldJson).root;
      const b = validateSchema(newJson).root;
      compareSchemas(a, b);
      diffSchemas(a, b);
    });
    const a = validateSchema(oldJson);
    const b = validateSchema(newJson);
    const check = sample(iterations, () => compareSchemas(a.root, b.root));
    const diff = sample(iterations, () => diffSchemas(a.root, b.root));
    const cache = new SchemaCache();
    const warm = sample(iterations, () => {
      cache.verdict(a.hash, b.hash, cache.schema(a.hash, a.canonical), cache.schema(b.hash, b.canonical));
      cache.diff(a.hash, b.hash, cache.schema(a.hash, a.canonical), cache.schema(b.hash, b.canonical));
    });
    const avsc = sample(iterations, () => {
      const oldType = avro.Type.forSchema(oldJson as avro.Schema);
      const newType = avro.Type.forSchema(newJson as avro.Schema);
      for (const [r, w] of [
        [newType, oldType],
        [oldType, newType],
      ] as const)
        try {
          r.createResolver(w);
        } catch {
          // an incompatible direction is an answer too
        }
    });
    console.log(`\n${n} fields (${iterations} iterations)`);
    console.log(line('check (resolution both ways)', check));
    console.log(line('diff', diff));
    console.log(line('cold: validate + check + diff', cold));
    console.log(line('warm: through the schema cache', warm));
    console.log(line('baseline: avsc parse + resolve', avsc));
    console.log(
      `ratio cold/avsc p50 ${fmt(percentile(cold, 50) / percentile(avsc, 50), 2)}   warm/cold p50 ${fmt(percentile(warm, 50) / percentile(cold, 50), 3)}`,
    );
  }

  const deps = await benchDependencies('registry', SECRET);
  const app = createGatewayApp({
    ...deps,
    config: {
      ...deps.config,
      registry: {
        ...deps.config.registry,
        rateLimits: {
          write: { rps: 1e6, burst: 1e6 },
          check: { rps: 1e6, burst: 1e6 },
          read: { rps: 1e6, burst: 1e6 },
        },
      },
    },
  });
  const token = await mintLocalToken(SECRET, {
    tenant: 'bench',
    workspace: `registry-${Date.now()}`,
    roles: ['producer'],
  });
  const post = async (path: string, body: unknown) => {
    const response = await app.request(path, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (response.status >= 300) throw new Error(`${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as { dataset_id: string };
  };
  const INGESTS = 60;
  const datasets = await Promise.all(
    Array.from({ length: 6 }, (_, i) =>
      post('/data-contract-registry/v1/datasets', {
        namespace: 'bench',
        name: `d${i}-${Date.now()}`,
        owner: 'bench',
      }),
    ),
  );
  const ingest = (datasetId: string, i: number) =>
    post(`/data-contract-registry/v1/datasets/${datasetId}/layers/raw/schemas`, {
      schema_json: {
        ...wideSchema(20),
        fields: [
          ...wideSchema(20).fields,
          ...Array.from({ length: i }, (_, j) => ({ name: `x${j}`, type: 'int', default: 0 })),
        ],
      },
    });
  let started = performance.now();
  for (let i = 0; i < INGESTS; i++) await ingest(datasets[0]!.dataset_id, i);
  const sequential = INGESTS / ((performance.now() - started) / 1000);
  started = performance.now();
  await Promise.all(
    datasets.slice(1).map(async (d) => {
      for (let i = 0; i < INGESTS / 5; i++) await ingest(d.dataset_id, i);
    }),
  );
  const parallel = INGESTS / ((performance.now() - started) / 1000);
  started = performance.now();
  for (let i = 0; i < INGESTS; i++)
    await deps.documents.set(`bench/registry/plain/${i}`, { i, at: Date.now() });
  const plain = INGESTS / ((performance.now() - started) / 1000);
  console.log(`\ningest throughput on the Firestore emulator (${INGESTS} ingests, 20+ fields)`);
  console.log(`one layer, sequential          ${fmt(sequential)} ingests/s`);
  console.log(`5 layers, 5 writers            ${fmt(parallel)} ingests/s`);
  console.log(
    `baseline: plain document sets  ${fmt(plain)} writes/s   ratio sequential/plain ${fmt(sequential / plain, 2)}`,
  );
}
