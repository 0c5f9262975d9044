import type { Scope } from '../auth/principal.ts';
import { sha256Hex } from '../core/hashing.ts';
import type { Classification, Compatibility } from './compatibility.ts';
import type { UnmetRequirement } from './promotionGate.ts';

/** The registry's documents (spec §3), all under the caller's `tenants/{t}/workspaces/{w}/`. */
export const LAYERS = ['extraction', 'raw', 'gold', 'activation'] as const;
export type Layer = (typeof LAYERS)[number];
export const isLayer = (value: string): value is Layer => (LAYERS as readonly string[]).includes(value);

export type DatasetStatus = 'active' | 'deprecated' | 'retired';
export type RequiredCompatibility = 'backward' | 'forward' | 'both';

export interface DatasetRecord {
  dataset_id: string;
  namespace: string;
  name: string;
  owner: string;
  steward: string | null;
  status: DatasetStatus;
  created_at: string;
  created_by: string;
}

export interface Requirement {
  subscription_id: string;
  consumer: string;
  required_compatibility: RequiredCompatibility;
  min_version: number;
}

/** Per-layer bookkeeping; ingests and subscription creation serialise on this one document. */
export interface LayerRecord {
  latest_version: number;
  current_version: number | null;
  promoted_versions: number[];
  requirements: Requirement[];
}

export const EMPTY_LAYER: LayerRecord = {
  latest_version: 0,
  current_version: null,
  promoted_versions: [],
  requirements: [],
};

export interface VersionRecord {
  version_id: string;
  dataset_id: string;
  layer: Layer;
  version: number;
  /** The schema as ingested, as a string: Firestore cannot nest arrays and would blur int and float. */
  schema_text: string;
  schema_registry_id: string | null;
  schema_hash: string;
  size_bytes: number;
  compatibility: Compatibility;
  classification: Classification;
  base_version: number | null;
  breaking: boolean;
  unmet: UnmetRequirement[];
  is_current: boolean;
  promoted_at: string | null;
  superseded_at: string | null;
  superseded_by: number | null;
  created_at: string;
  created_by: string;
}

export interface SubscriptionRecord {
  subscription_id: string;
  dataset_id: string;
  layer: Layer;
  consumer: string;
  required_compatibility: RequiredCompatibility;
  min_version: number;
  created_at: string;
  created_by: string;
}

export interface AuditRecord {
  audit_id: string;
  actor: string;
  action: 'dataset.create' | 'schema.ingest' | 'current.set' | 'subscription.create';
  target: string;
  old_value: unknown;
  new_value: unknown;
  at: string;
  correlation_id: string;
}

/** Subscriptions per layer (spec §3.2): the layer document carries a copy of each. */
export const MAX_SUBSCRIPTIONS_PER_LAYER = 500;

export function registryPaths(scope: Scope) {
  const root = `tenants/${scope.tenant}/workspaces/${scope.workspace}`;
  const dataset = (datasetId: string) => `${root}/dcr_datasets/${datasetId}`;
  const layer = (datasetId: string, layerName: Layer) => `${dataset(datasetId)}/layers/${layerName}`;
  return {
    datasets: `${root}/dcr_datasets`,
    dataset,
    datasetName: (namespace: string, name: string) =>
      `${root}/dcr_dataset_names/${sha256Hex(`${namespace}\u0000${name}`)}`,
    layer,
    versions: (datasetId: string, layerName: Layer) => `${layer(datasetId, layerName)}/versions`,
    version: (datasetId: string, layerName: Layer, version: number) =>
      `${layer(datasetId, layerName)}/versions/${String(version).padStart(10, '0')}`,
    subscriptions: `${root}/dcr_subscriptions`,
    subscription: (subscriptionId: string) => `${root}/dcr_subscriptions/${subscriptionId}`,
    subscriptionKey: (datasetId: string, layerName: Layer, consumer: string) =>
      `${root}/dcr_subscription_keys/${sha256Hex(`${datasetId}|${layerName}|${consumer}`)}`,
    audit: (auditId: string) => `${root}/dcr_audit/${auditId}`,
    auditLog: `${root}/dcr_audit`,
    idempotency: (principal: string, resourceType: string, key: string) =>
      `${root}/dcr_idempotency/${sha256Hex(`${principal}|${resourceType}|${key}`)}`,
  };
}

export type RegistryPaths = ReturnType<typeof registryPaths>;
