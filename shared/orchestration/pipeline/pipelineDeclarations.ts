import type { ManifestAsset } from '../codeLocationManifest.ts';

/** A pipeline declared in the code-location manifest (pipeline-ops spec §1.2). */
export interface PipelineDeclaration {
  name: string;
  default?: boolean;
  assets: string[];
  partitionDimension: string;
  timezone?: string;
  asOf?: {
    defaultMode?: AsOfMode;
    pretip?: { leadMinutes: number; calendar: { type: 'fixed_local_time'; localTime: string } };
    lock?: { calendar: { type: 'table'; times: Record<string, string>; missingDate?: 'error' | 'skip' } };
  };
  steps?: Record<string, { sideEffects?: 'run_scoped' | 'publishes'; models?: string[] }>;
  publish?: { dataPointers?: string[] };
  maxParallelDefault?: number;
}

export type AsOfMode = 'now' | 'pretip' | 'lock' | 'custom';

export class PipelineDeclarationError extends Error {}

const NAME = /^[a-z][a-z0-9_-]{0,62}$/;

/** Spec §1.2's deploy-time checks; returns the pipelines with their assets in dependency order. */
export function validatePipelines(
  pipelines: PipelineDeclaration[],
  assets: ManifestAsset[],
): PipelineDeclaration[] {
  const byKey = new Map(assets.map((a) => [a.key, a]));
  if (pipelines.filter((p) => p.default).length > 1)
    throw new PipelineDeclarationError('at most one pipeline may be the default');
  return pipelines.map((p) => {
    if (!NAME.test(p.name)) throw new PipelineDeclarationError(`pipeline name ${p.name} must match ${NAME}`);
    for (const key of p.assets) {
      const asset = byKey.get(key);
      if (!asset) throw new PipelineDeclarationError(`pipeline ${p.name} names unknown asset ${key}`);
      const dimension = asset.dimensions.find((d) => d.name === p.partitionDimension);
      if (!dimension || dimension.kind !== 'time' || (dimension.granularity ?? 'day') !== 'day')
        throw new PipelineDeclarationError(
          `pipeline ${p.name}: ${key} is not partitioned daily on ${p.partitionDimension}`,
        );
    }
    const extra = (p.publish?.dataPointers ?? []).filter((k) => !p.assets.includes(k));
    if (extra.length)
      throw new PipelineDeclarationError(
        `pipeline ${p.name} publishes assets it does not run: ${extra.join(', ')}`,
      );
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: p.timezone ?? 'UTC' });
    } catch {
      throw new PipelineDeclarationError(`pipeline ${p.name}: unknown time zone ${p.timezone}`);
    }
    return { ...p, assets: orderByDependencies(p.assets, byKey) };
  });
}

function orderByDependencies(keys: string[], byKey: Map<string, ManifestAsset>): string[] {
  const set = new Set(keys);
  const ordered: string[] = [];
  const visit = (key: string) => {
    if (ordered.includes(key)) return;
    for (const up of byKey.get(key)!.dependencies) if (set.has(up)) visit(up);
    ordered.push(key);
  };
  [...keys].sort().forEach(visit);
  return ordered;
}

export const sideEffectsOf = (pipeline: PipelineDeclaration | undefined, assetKey: string) =>
  pipeline?.steps?.[assetKey]?.sideEffects ?? 'run_scoped';

/** The pipeline a request names, else the default one, else the only one (spec §4.1). */
export function choosePipeline(pipelines: PipelineDeclaration[], name?: string): PipelineDeclaration {
  if (name) {
    const found = pipelines.find((p) => p.name === name);
    if (!found)
      throw new PipelineDeclarationError(
        `unknown pipeline ${name}; known: ${pipelines.map((p) => p.name).join(', ') || 'none'}`,
      );
    return found;
  }
  const chosen = pipelines.find((p) => p.default) ?? (pipelines.length === 1 ? pipelines[0] : undefined);
  if (!chosen)
    throw new PipelineDeclarationError(
      `name a pipeline with --pipeline: ${pipelines.map((p) => p.name).join(', ') || 'none is deployed'}`,
    );
  return chosen;
}
