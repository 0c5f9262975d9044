import { parseLosslessJson } from '../core/losslessJson.ts';
import type { IngestPlan } from './ingestPlan.ts';
import type { VersionRecord } from './registryRecords.ts';

/** The API shapes of spec §5 built from stored documents (documented fields first, ours after). */
export const versionSummary = (v: VersionRecord) => ({
  version: v.version,
  is_current: v.is_current,
  compatibility: v.compatibility,
  created_at: v.created_at,
  classification: v.classification,
  base_version: v.base_version,
  breaking: v.breaking,
  created_by: v.created_by,
  promoted_at: v.promoted_at,
  superseded_at: v.superseded_at,
  schema_hash: v.schema_hash,
});

export const versionView = (v: VersionRecord) => ({
  dataset_id: v.dataset_id,
  layer: v.layer,
  version: v.version,
  // Big integers stay exact; answer this view with a lossless serialiser (registryJson), not c.json.
  schema_json: parseLosslessJson(v.schema_text),
  schema_registry_id: v.schema_registry_id,
  compatibility: v.compatibility,
  is_current: v.is_current,
  created_at: v.created_at,
  classification: v.classification,
  base_version: v.base_version,
  breaking: v.breaking,
  unmet: v.unmet,
  created_by: v.created_by,
  promoted_at: v.promoted_at,
  superseded_at: v.superseded_at,
  superseded_by: v.superseded_by,
  schema_hash: v.schema_hash,
  size_bytes: v.size_bytes,
});

export const ingestView = (plan: IngestPlan) => ({
  dataset_id: plan.version.dataset_id,
  layer: plan.version.layer,
  version: plan.version.version,
  is_current: plan.version.is_current,
  compatibility: plan.version.compatibility,
  classification: plan.version.classification,
  base_version: plan.version.base_version,
  breaking: plan.version.breaking,
  unmet: plan.version.unmet,
  current_version: plan.layer?.current_version ?? plan.previousCurrent,
  deduplicated: plan.outcome === 'deduplicated',
  schema_registry_id: plan.version.schema_registry_id,
  schema_hash: plan.version.schema_hash,
  created_at: plan.version.created_at,
  created_by: plan.version.created_by,
});
