import type { Clock } from '../adapters/clock.ts';
import type { DocumentStore, DocumentTransaction, WhereClause } from '../adapters/documentStore.ts';
import type { Scope } from '../auth/principal.ts';
import { conflict, notFound } from '../core/arcoError.ts';
import { baseVersionOf, type IngestPlan, type IngestRequest, planIngest } from './ingestPlan.ts';
import { gateWindow } from './promotionGate.ts';
import {
  type AuditRecord,
  type DatasetRecord,
  EMPTY_LAYER,
  type Layer,
  LAYERS,
  type LayerRecord,
  MAX_SUBSCRIPTIONS_PER_LAYER,
  type RegistryPaths,
  registryPaths,
  type SubscriptionRecord,
  type VersionRecord,
} from './registryRecords.ts';
import type { SchemaCache } from './schemaCache.ts';
import type { ValidSchema } from './schemaValidation.ts';

export interface Page {
  page: number;
  pageSize: number;
}

export interface PageOf<T> {
  items: T[];
  total: number;
}

export interface WriteContext {
  actor: string;
  correlationId: string;
}

const equalities = (filters: Record<string, string | undefined>): WhereClause[] =>
  Object.entries(filters)
    .filter(([, value]) => value)
    .map(([field, value]) => [field, '==', value]);

const retired = (what: string) =>
  conflict(`the dataset is retired: it accepts no new ${what}`, { reason: 'dataset_retired' });

/**
 * The registry's Firestore documents for one workspace (spec §3). Version numbering, the current
 * pointer and subscription requirements change only inside transactions on the layer document.
 */
export class RegistryStore {
  private readonly paths: RegistryPaths;

  constructor(
    private readonly documents: DocumentStore,
    scope: Scope,
    private readonly clock: Clock,
    private readonly cache: SchemaCache,
  ) {
    this.paths = registryPaths(scope);
  }

  private now() {
    return this.clock.now().toISOString();
  }

  private audit(tx: DocumentTransaction, entry: AuditRecord) {
    tx.create(this.paths.audit(entry.audit_id), entry);
  }

  async createDataset(
    input: { namespace: string; name: string; owner: string; steward?: string | null },
    context: WriteContext,
  ): Promise<DatasetRecord> {
    const dataset: DatasetRecord = {
      dataset_id: crypto.randomUUID(),
      namespace: input.namespace,
      name: input.name,
      owner: input.owner,
      steward: input.steward ?? null,
      status: 'active',
      created_at: this.now(),
      created_by: context.actor,
    };
    const guard = this.paths.datasetName(input.namespace, input.name);
    return this.documents.runTransaction(async (tx) => {
      const existing = await tx.get<{ dataset_id: string }>(guard);
      if (existing)
        throw conflict(`a dataset ${input.namespace}.${input.name} already exists`, {
          reason: 'duplicate',
          existing_id: existing.data.dataset_id,
        });
      tx.create(guard, { dataset_id: dataset.dataset_id });
      tx.create(this.paths.dataset(dataset.dataset_id), dataset);
      this.audit(tx, {
        audit_id: crypto.randomUUID(),
        actor: context.actor,
        action: 'dataset.create',
        target: `datasets/${dataset.dataset_id}`,
        old_value: null,
        new_value: dataset,
        at: dataset.created_at,
        correlation_id: context.correlationId,
      });
      return dataset;
    });
  }

  async dataset(datasetId: string): Promise<DatasetRecord | null> {
    return (await this.documents.get<DatasetRecord>(this.paths.dataset(datasetId)))?.data ?? null;
  }

  async requireDataset(datasetId: string, field?: string): Promise<DatasetRecord> {
    const dataset = await this.dataset(datasetId);
    if (!dataset) throw notFound('dataset not found', field ? { field } : undefined);
    return dataset;
  }

  async layers(
    datasetId: string,
  ): Promise<Record<Layer, { current_version: number | null; latest_version: number }>> {
    const entries = await Promise.all(
      LAYERS.map(async (layer) => {
        const state =
          (await this.documents.get<LayerRecord>(this.paths.layer(datasetId, layer)))?.data ?? EMPTY_LAYER;
        return [
          layer,
          { current_version: state.current_version, latest_version: state.latest_version },
        ] as const;
      }),
    );
    return Object.fromEntries(entries) as Record<
      Layer,
      { current_version: number | null; latest_version: number }
    >;
  }

  async listDatasets(
    filters: Partial<Record<'namespace' | 'name' | 'status' | 'owner', string>>,
    page: Page,
  ) {
    return this.pageOf<DatasetRecord>(
      this.paths.datasets,
      equalities(filters),
      [
        ['namespace', 'asc'],
        ['name', 'asc'],
      ],
      page,
    );
  }

  private async pageOf<T>(
    collection: string,
    where: WhereClause[],
    orderBy: Array<[string, 'asc' | 'desc']>,
    page: Page,
  ): Promise<PageOf<T>> {
    const [docs, total] = await Promise.all([
      this.documents.query<T>(collection, {
        where,
        orderBy,
        offset: (page.page - 1) * page.pageSize,
        limit: page.pageSize,
      }),
      this.documents.count(collection, { where }),
    ]);
    return { items: docs.map((d) => d.data), total };
  }

  listVersions(datasetId: string, layer: Layer, page: Page) {
    return this.pageOf<VersionRecord>(this.paths.versions(datasetId, layer), [], [['version', 'desc']], page);
  }

  async version(datasetId: string, layer: Layer, version: number): Promise<VersionRecord | null> {
    return (
      (await this.documents.get<VersionRecord>(this.paths.version(datasetId, layer, version)))?.data ?? null
    );
  }

  async layer(datasetId: string, layer: Layer): Promise<LayerRecord> {
    return (await this.documents.get<LayerRecord>(this.paths.layer(datasetId, layer)))?.data ?? EMPTY_LAYER;
  }

  /** The parsed schema of a stored version, from the cache when its hash was seen before. */
  parsed(version: VersionRecord) {
    return this.cache.schema(version.schema_hash, version.schema_text);
  }

  /**
   * LoadCurrent → ComputeDiff → ClassifyChange: reads the layer and the versions the plan compares
   * with through `read` (a transaction's or plain reads), then plans without I/O.
   */
  private async plan(
    read: <T>(path: string) => Promise<{ data: T } | null>,
    request: IngestRequest,
    context: WriteContext,
  ): Promise<{ plan: IngestPlan; layer: LayerRecord; versions: Map<number, VersionRecord>; diffMs: number }> {
    const dataset = await read<DatasetRecord>(this.paths.dataset(request.datasetId));
    if (!dataset) throw notFound('dataset not found', { field: 'dataset_id' });
    if (dataset.data.status === 'retired') throw retired('schemas');
    const layer =
      (await read<LayerRecord>(this.paths.layer(request.datasetId, request.layer)))?.data ?? EMPTY_LAYER;
    const needed = new Set<number>(gateWindow(layer.promoted_versions, layer.requirements));
    for (const v of [layer.latest_version || null, layer.current_version, baseVersionOf(layer)])
      if (v) needed.add(v);
    const versions = new Map<number, VersionRecord>();
    for (const v of needed) {
      const doc = await read<VersionRecord>(this.paths.version(request.datasetId, request.layer, v));
      if (doc) versions.set(v, doc.data);
    }
    const started = performance.now();
    const plan = planIngest(request, {
      layer,
      latest: versions.get(layer.latest_version) ?? null,
      current: layer.current_version ? (versions.get(layer.current_version) ?? null) : null,
      compatibilityWith: (v) => this.verdict(versions.get(v)!, request.schema).compatibility,
      now: this.now(),
      actor: context.actor,
      correlationId: context.correlationId,
      newId: () => crypto.randomUUID(),
    });
    return { plan, layer, versions, diffMs: performance.now() - started };
  }

  /** How a candidate compares with a stored version, from the cache when the pair was seen. */
  verdict(stored: VersionRecord, candidate: ValidSchema) {
    return this.cache.verdict(stored.schema_hash, candidate.hash, this.parsed(stored), candidate.root);
  }

  /** Spec §7.1: plan and PersistVersion/SetCurrent in one transaction on the layer document. */
  async ingest(request: IngestRequest, context: WriteContext): Promise<{ plan: IngestPlan; diffMs: number }> {
    this.cache.remember(request.schema.hash, request.schema.root);
    return this.documents.runTransaction(async (tx) => {
      const { plan, diffMs } = await this.plan((path) => tx.get(path), request, context);
      const versionPath = this.paths.version(request.datasetId, request.layer, plan.version.version);
      if (plan.outcome === 'created') tx.create(versionPath, plan.version);
      else if (plan.promoted) tx.set(versionPath, plan.version);
      if (plan.superseded)
        tx.set(
          this.paths.version(request.datasetId, request.layer, plan.superseded.version),
          plan.superseded,
        );
      if (plan.layer) tx.set(this.paths.layer(request.datasetId, request.layer), plan.layer);
      for (const entry of plan.audits) this.audit(tx, entry);
      return { plan, diffMs };
    });
  }

  /** What an ingest with `set_current_if_compatible: true` would decide now; nothing is written. */
  dryRun(request: IngestRequest, context: WriteContext) {
    return this.plan((path) => this.documents.get(path), request, context);
  }

  async createSubscription(
    input: Omit<SubscriptionRecord, 'subscription_id' | 'created_at' | 'created_by'>,
    context: WriteContext,
  ): Promise<SubscriptionRecord> {
    const subscription: SubscriptionRecord = {
      subscription_id: crypto.randomUUID(),
      ...input,
      created_at: this.now(),
      created_by: context.actor,
    };
    const keyPath = this.paths.subscriptionKey(input.dataset_id, input.layer, input.consumer);
    const layerPath = this.paths.layer(input.dataset_id, input.layer);
    return this.documents.runTransaction(async (tx) => {
      const dataset = await tx.get<DatasetRecord>(this.paths.dataset(input.dataset_id));
      if (!dataset) throw notFound('dataset not found', { field: 'dataset_id' });
      if (dataset.data.status === 'retired') throw retired('subscriptions');
      const existing = await tx.get<{ subscription_id: string }>(keyPath);
      if (existing)
        throw conflict(`${input.consumer} already subscribes to this dataset's ${input.layer} layer`, {
          reason: 'duplicate',
          existing_id: existing.data.subscription_id,
        });
      const layer = (await tx.get<LayerRecord>(layerPath))?.data ?? EMPTY_LAYER;
      if (layer.requirements.length >= MAX_SUBSCRIPTIONS_PER_LAYER)
        throw conflict(`a layer may have at most ${MAX_SUBSCRIPTIONS_PER_LAYER} subscriptions`, {
          reason: 'subscription_limit',
          limit: MAX_SUBSCRIPTIONS_PER_LAYER,
        });
      tx.create(keyPath, { subscription_id: subscription.subscription_id });
      tx.create(this.paths.subscription(subscription.subscription_id), subscription);
      tx.set(layerPath, {
        ...layer,
        requirements: [
          ...layer.requirements,
          {
            subscription_id: subscription.subscription_id,
            consumer: subscription.consumer,
            required_compatibility: subscription.required_compatibility,
            min_version: subscription.min_version,
          },
        ],
      });
      this.audit(tx, {
        audit_id: crypto.randomUUID(),
        actor: context.actor,
        action: 'subscription.create',
        target: `subscriptions/${subscription.subscription_id}`,
        old_value: null,
        new_value: subscription,
        at: subscription.created_at,
        correlation_id: context.correlationId,
      });
      return subscription;
    });
  }

  listSubscriptions(filters: Partial<Record<'dataset_id' | 'layer' | 'consumer', string>>, page: Page) {
    return this.pageOf<SubscriptionRecord>(
      this.paths.subscriptions,
      equalities(filters),
      [
        ['dataset_id', 'asc'],
        ['layer', 'asc'],
        ['consumer', 'asc'],
      ],
      page,
    );
  }

  /** Across every workspace of the deployment, for the `dcr_subscriptions_total` gauge. */
  countSubscriptionsEverywhere(layer: Layer): Promise<number> {
    return this.documents.count('dcr_subscriptions', { where: [['layer', '==', layer]], group: true });
  }

  listAudit(filters: Partial<Record<'target' | 'action', string>>, page: Page) {
    return this.pageOf<AuditRecord>(this.paths.auditLog, equalities(filters), [['at', 'desc']], page);
  }
}
