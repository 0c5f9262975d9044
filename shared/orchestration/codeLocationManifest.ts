import { stableJson } from '../core/canonicalJson.ts';
import {
  type PipelineDeclaration,
  PipelineDeclarationError,
  validatePipelines,
} from './pipeline/pipelineDeclarations.ts';
import { sha256Hex } from '../core/hashing.ts';
import { canonicalAssetKey, InvalidAssetKeyError } from './assetKeys.ts';
import { ArcoError } from '../core/arcoError.ts';

/** A code location's manifest (orchestration spec §20.5, plus the local stack contract's worker fields). */
export interface PartitionDimension {
  name: string;
  kind: 'time' | 'static' | 'tenant';
  granularity?: 'day' | 'hour';
  values?: string[];
}

export interface RetryPolicy {
  maxAttempts: number;
  initialBackoffSeconds: number;
  maxBackoffSeconds: number;
}

export interface ManifestAssetInput {
  key: { namespace: string; name: string } | string;
  id?: string;
  dependencies?: Array<{ upstreamKey: { namespace: string; name: string } | string }>;
  partitioning?: { isPartitioned?: boolean; dimensions?: PartitionDimension[] };
  workerUrl?: string;
  retryPolicy?: Partial<RetryPolicy>;
  heartbeatTimeoutSec?: number;
  payload?: Record<string, unknown>;
}

export interface ManifestInput {
  manifestVersion?: string;
  codeVersionId: string;
  workerUrl?: string;
  retryPolicy?: Partial<RetryPolicy>;
  assets: ManifestAssetInput[];
  schedules?: ScheduleDeclaration[];
  sensors?: SensorDeclaration[];
  pipelines?: PipelineDeclaration[];
  git?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
}

/** A schedule declared with the code (spec §14.1): new ones start enabled with no catch-up. */
export interface ScheduleDeclaration {
  id: string;
  cron: string;
  assets?: string[];
  timezone?: string;
  partitionFromTick?: string;
  /** A pipeline's daily schedule: each tick runs the pipeline for the tick's day (pipeline-ops §1.1). */
  pipeline?: string;
}

/** A sensor declared with the code (spec §15.5). */
export interface SensorDeclaration {
  id: string;
  kind: 'push' | 'poll';
  assetSelection: string[];
  /** Push: the message attribute whose value is the run's partition (a day for daily assets). */
  partitionKeyAttribute?: string;
  /** Poll (and optionally push): the evaluator that turns a cursor or message into run requests. */
  evaluatorUrl?: string;
  minIntervalSeconds?: number;
}

export interface ManifestAsset {
  key: string;
  dependencies: string[];
  dimensions: PartitionDimension[];
  workerUrl?: string;
  retryPolicy: RetryPolicy;
  heartbeatTimeoutSec: number;
  payload: Record<string, unknown>;
}

export interface CodeLocationManifest {
  manifestId: string;
  codeVersionId: string;
  fingerprint: string;
  deployedAt: string;
  assets: ManifestAsset[];
  schedules: ScheduleDeclaration[];
  sensors: SensorDeclaration[];
  pipelines: PipelineDeclaration[];
}

export class ManifestValidationError extends ArcoError {
  constructor(message: string, details: Record<string, unknown>) {
    super('invalid_argument', message, details);
  }
}

const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 3, initialBackoffSeconds: 30, maxBackoffSeconds: 900 };

const keyText = (key: ManifestAssetInput['key']) =>
  typeof key === 'string' ? key : `${key.namespace}.${key.name}`;

/**
 * Canonicalises and checks a manifest: asset keys, duplicates, unknown upstreams and cycles are each
 * refused with the offending keys named; worker URL and retry policy are resolved per asset.
 */
export function buildManifest(
  input: ManifestInput,
  manifestId: string,
  deployedAt: string,
): CodeLocationManifest {
  const invalid: string[] = [];
  const canonical = (raw: string) => {
    try {
      return canonicalAssetKey(raw);
    } catch (error) {
      if (error instanceof InvalidAssetKeyError) invalid.push(raw);
      return null;
    }
  };
  const keys = input.assets.map((a) => canonical(keyText(a.key)));
  if (invalid.length)
    throw new ManifestValidationError(`invalid asset keys: ${invalid.join(', ')}`, { invalidKeys: invalid });
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const key of keys as string[]) (seen.has(key) ? duplicates : seen).add(key);
  if (duplicates.size)
    throw new ManifestValidationError(`duplicate asset keys: ${[...duplicates].sort().join(', ')}`, {
      duplicateKeys: [...duplicates].sort(),
    });
  const assets: ManifestAsset[] = input.assets.map((asset, i) => {
    const deps = (asset.dependencies ?? []).map((d) => canonical(keyText(d.upstreamKey)));
    const dimensions = asset.partitioning?.dimensions ?? [];
    return {
      key: keys[i]!,
      dependencies: [...new Set(deps.filter((d): d is string => d !== null))].sort(),
      dimensions: [...dimensions].sort((a, b) => (a.name < b.name ? -1 : 1)),
      ...((asset.workerUrl ?? input.workerUrl) ? { workerUrl: asset.workerUrl ?? input.workerUrl } : {}),
      retryPolicy: { ...DEFAULT_RETRY, ...input.retryPolicy, ...asset.retryPolicy },
      heartbeatTimeoutSec: Math.max(30, asset.heartbeatTimeoutSec ?? 300),
      payload: asset.payload ?? {},
    };
  });
  if (invalid.length)
    throw new ManifestValidationError(`invalid asset keys: ${invalid.join(', ')}`, { invalidKeys: invalid });
  const unknown = assets.flatMap((a) =>
    a.dependencies.filter((d) => !seen.has(d)).map((d) => `${a.key} -> ${d}`),
  );
  if (unknown.length)
    throw new ManifestValidationError(`unknown dependencies: ${unknown.join(', ')}`, {
      unknownDependencies: unknown,
    });
  const cycle = findCycle(assets);
  if (cycle) throw new ManifestValidationError(`dependency cycle: ${cycle.join(' -> ')}`, { cycle });
  const sorted = assets.sort((a, b) => (a.key < b.key ? -1 : 1));
  const selection = (what: string, raw: string[]) => {
    const resolved = raw.map((k) => canonical(k));
    const missing = raw.filter((k, i) => resolved[i] === null || !seen.has(resolved[i]!));
    if (missing.length)
      throw new ManifestValidationError(`${what} names unknown assets: ${missing.join(', ')}`, {
        unknownAssets: missing,
      });
    return [...new Set(resolved as string[])].sort();
  };
  const declaredPipelines = new Map((input.pipelines ?? []).map((p) => [p.name, p]));
  const schedules = (input.schedules ?? []).map((d) => {
    if (d.pipeline && !declaredPipelines.has(d.pipeline))
      throw new ManifestValidationError(`schedule ${d.id} names unknown pipeline ${d.pipeline}`, {
        pipeline: d.pipeline,
      });
    const assets = d.pipeline ? declaredPipelines.get(d.pipeline)!.assets : (d.assets ?? []);
    if (!assets.length)
      throw new ManifestValidationError(`schedule ${d.id} needs assets or a pipeline`, { scheduleId: d.id });
    return { ...d, assets: selection(`schedule ${d.id}`, assets) };
  });
  const sensors = (input.sensors ?? []).map((d) => ({
    ...d,
    assetSelection: selection(`sensor ${d.id}`, d.assetSelection),
  }));
  for (const [what, list] of [
    ['schedule', schedules],
    ['sensor', sensors],
  ] as const) {
    const ids = list.map((d) => d.id);
    const repeated = ids.filter((id, i) => ids.indexOf(id) !== i);
    if (repeated.length)
      throw new ManifestValidationError(`duplicate ${what} ids: ${repeated.join(', ')}`, {
        duplicateIds: repeated,
      });
  }
  let pipelines: PipelineDeclaration[];
  try {
    pipelines = validatePipelines(input.pipelines ?? [], sorted);
  } catch (error) {
    if (error instanceof PipelineDeclarationError) throw new ManifestValidationError(error.message, {});
    throw error;
  }
  const fingerprint = sha256Hex(
    stableJson({ codeVersionId: input.codeVersionId, assets: sorted, schedules, sensors, pipelines }),
  );
  return {
    manifestId,
    codeVersionId: input.codeVersionId,
    fingerprint,
    deployedAt,
    assets: sorted,
    schedules,
    sensors,
    pipelines,
  };
}

function findCycle(assets: ManifestAsset[]): string[] | null {
  const upstreams = new Map(assets.map((a) => [a.key, a.dependencies]));
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (key: string): string[] | null => {
    if (state.get(key) === 'done') return null;
    if (state.get(key) === 'visiting') return [...path.slice(path.indexOf(key)), key];
    state.set(key, 'visiting');
    path.push(key);
    for (const up of upstreams.get(key) ?? []) {
      const found = visit(up);
      if (found) return found;
    }
    path.pop();
    state.set(key, 'done');
    return null;
  };
  for (const key of [...upstreams.keys()].sort()) {
    const found = visit(key);
    if (found) return found;
  }
  return null;
}

/** Selection closure (spec §12): roots, plus upstreams and/or downstreams only when asked. */
export function selectAssets(
  manifest: CodeLocationManifest,
  roots: string[],
  includeUpstream: boolean,
  includeDownstream: boolean,
): ManifestAsset[] {
  const byKey = new Map(manifest.assets.map((a) => [a.key, a]));
  const downstreams = new Map<string, string[]>();
  for (const asset of manifest.assets)
    for (const up of asset.dependencies) downstreams.set(up, [...(downstreams.get(up) ?? []), asset.key]);
  const selected = new Set(roots);
  const walk = (next: (key: string) => string[]) => {
    const queue = [...roots];
    while (queue.length) {
      for (const k of next(queue.shift()!)) {
        if (selected.has(k)) continue;
        selected.add(k);
        queue.push(k);
      }
    }
  };
  if (includeUpstream) walk((k) => byKey.get(k)?.dependencies ?? []);
  if (includeDownstream) walk((k) => downstreams.get(k) ?? []);
  return [...selected].sort().map((k) => byKey.get(k)!);
}
