import type { Scope } from '../auth/principal.ts';
import { ArcoError } from '../core/arcoError.ts';
import { canonicalAssetKey, InvalidAssetKeyError } from '../orchestration/assetKeys.ts';
import type { CodeLocationManifest } from '../orchestration/codeLocationManifest.ts';
import { ManifestStore } from '../orchestration/manifestStore.ts';
import {
  canonicalPartitionKey,
  InvalidPartitionKeyError,
  partitionKeyMatches,
  parsePartitionKey,
} from '../orchestration/partitionKeys.ts';
import type { TriggerRequest } from '../orchestration/run/triggerRun.ts';
import type { Dependencies } from '../runtime/dependencies.ts';

/**
 * Partition keys in requests (docs/partition-keys.md): people write them plainly (`2026-11-30`,
 * `date=2026-11-30|region=eu`) or in the tagged form; the API turns them into the canonical key of the
 * asset's deployed partitioning before anything is read or written, and refuses what it cannot type
 * with 400 `{code, message, details: {field, partitionKey}}`.
 */
export const badPartitionKey = (field: string, input: string, error: InvalidPartitionKeyError) =>
  new ArcoError('invalid_argument', `${field}: ${error.message}`, { field, partitionKey: input });

const assetKeyOf = (key: string) => {
  try {
    return canonicalAssetKey(key);
  } catch (error) {
    if (error instanceof InvalidAssetKeyError) return undefined;
    throw error;
  }
};

/** `input` as the canonical key of an asset partitioned by `dimensions`; 400 when it is not one. */
function canonicalOr400(
  field: string,
  input: string,
  dimensions: CodeLocationManifest['assets'][number]['dimensions'],
) {
  try {
    return canonicalPartitionKey(input, dimensions);
  } catch (error) {
    if (error instanceof InvalidPartitionKeyError) throw badPartitionKey(field, input, error);
    throw error;
  }
}

/**
 * A trigger's `partitionKey` / `partitionKeys` typed by its first root's partitioning. Requests the
 * trigger refuses anyway (no manifest, unknown or unpartitioned roots) pass unchanged, so its own 400
 * says why.
 */
export async function canonicalTriggerRequest(
  deps: Dependencies,
  scope: Scope,
  request: TriggerRequest,
): Promise<TriggerRequest> {
  if (request.partitionKey === undefined && request.partitionKeys === undefined) return request;
  const manifest = await new ManifestStore(deps.documents, scope).latest();
  const roots = request.selection.map(assetKeyOf);
  const assets = roots.map((root) => manifest?.assets.find((a) => a.key === root));
  if (!assets.length || assets.some((a) => !a)) return request;
  const dimensions = assets[0]!.dimensions;
  if (!dimensions.length) return request;
  return {
    ...request,
    ...(request.partitionKey !== undefined
      ? { partitionKey: canonicalOr400('partitionKey', request.partitionKey, dimensions) }
      : {}),
    ...(request.partitionKeys !== undefined
      ? { partitionKeys: request.partitionKeys.map((k) => canonicalOr400('partitionKeys', k, dimensions)) }
      : {}),
  };
}

/**
 * A partition key naming one partition of `assetKey` (pointers, step manifests), canonical for the
 * asset's deployed partitioning. An asset the deployed manifest does not partition takes only the
 * tagged form (its partitioning is unknown, so a plain key cannot be typed).
 */
export async function assetPartitionKey(
  deps: Dependencies,
  scope: Scope,
  assetKey: string,
  input: string,
  field = 'partitionKey',
): Promise<string> {
  const manifest = await new ManifestStore(deps.documents, scope).latest();
  const key = assetKeyOf(assetKey);
  const dimensions = manifest?.assets.find((a) => a.key === key)?.dimensions ?? [];
  if (dimensions.length) return canonicalOr400(field, input, dimensions);
  try {
    parsePartitionKey(input);
    return input;
  } catch {
    throw new ArcoError(
      'invalid_argument',
      `${field}: ${assetKey} is not a partitioned asset of the deployed manifest, so only the tagged form (date=d:2026-11-30) names its partitions`,
      { field, partitionKey: input },
    );
  }
}

/** A filter `?partitionKey=` over stored canonical keys of several assets; 400 when malformed. */
export function partitionFilter(input: string | undefined): (key: unknown) => boolean {
  if (input === undefined) return () => true;
  if (input === '')
    throw new ArcoError('invalid_argument', 'partitionKey: the partition key is empty', {
      field: 'partitionKey',
    });
  try {
    partitionKeyMatches(input, '');
  } catch (error) {
    if (error instanceof InvalidPartitionKeyError) throw badPartitionKey('partitionKey', input, error);
    throw error;
  }
  return (key) => typeof key === 'string' && partitionKeyMatches(input, key);
}
