import { stringifyLosslessJson } from '../core/losslessJson.ts';
import { classify, type Compatibility } from './compatibility.ts';
import { evaluateGate, type GateResult } from './promotionGate.ts';
import type { AuditRecord, Layer, LayerRecord, VersionRecord } from './registryRecords.ts';
import type { ValidSchema } from './schemaValidation.ts';

/**
 * The pure heart of an ingest (spec §7): from the layer as the transaction read it, decide the version
 * to write, whether it becomes current, and the audit entries. No I/O; the store applies the plan.
 */
export interface IngestRequest {
  datasetId: string;
  layer: Layer;
  schema: ValidSchema;
  schemaRegistryId: string | null;
  setCurrentIfCompatible: boolean;
}

export interface IngestContext {
  layer: LayerRecord;
  latest: VersionRecord | null;
  current: VersionRecord | null;
  /** The candidate's compatibility against an existing version of the layer (the base, the gate window). */
  compatibilityWith: (version: number) => Compatibility;
  now: string;
  actor: string;
  correlationId: string;
  newId: () => string;
}

export interface IngestPlan {
  outcome: 'created' | 'deduplicated';
  version: VersionRecord;
  /** Null when nothing in the layer document changes (a deduplicated call that promotes nothing). */
  layer: LayerRecord | null;
  /** The previous current version, updated to say it was superseded. */
  superseded: VersionRecord | null;
  previousCurrent: number | null;
  promoted: boolean;
  gate: GateResult;
  audits: AuditRecord[];
}

/** Spec §7.2: compare with the current version; with none, the latest; an empty layer has no base. */
export function baseVersionOf(layer: LayerRecord): number | null {
  return layer.current_version ?? (layer.latest_version > 0 ? layer.latest_version : null);
}

export function planIngest(request: IngestRequest, context: IngestContext): IngestPlan {
  const { layer, latest } = context;
  const target = `datasets/${request.datasetId}/layers/${request.layer}`;
  const audit = (
    action: AuditRecord['action'],
    auditTarget: string,
    oldValue: unknown,
    newValue: unknown,
  ) => ({
    audit_id: context.newId(),
    actor: context.actor,
    action,
    target: auditTarget,
    old_value: oldValue,
    new_value: newValue,
    at: context.now,
    correlation_id: context.correlationId,
  });

  const gateFor = (base: number | null) =>
    evaluateGate({
      base: base === null ? null : { version: base, compatibility: context.compatibilityWith(base) },
      currentVersion: layer.current_version,
      promotedVersions: layer.promoted_versions,
      requirements: layer.requirements,
      compatibilityWith: context.compatibilityWith,
    });

  const promote = (version: VersionRecord, previous: VersionRecord | null) => {
    const promotedVersion = { ...version, is_current: true, promoted_at: context.now };
    const superseded = previous
      ? { ...previous, is_current: false, superseded_at: context.now, superseded_by: version.version }
      : null;
    return { promotedVersion, superseded };
  };

  const deduplicates =
    latest !== null &&
    latest.schema_hash === request.schema.hash &&
    latest.schema_registry_id === request.schemaRegistryId;
  if (deduplicates) {
    // Spec §7.5: no new version; a version held back (a freeze) is promoted now if the gate allows.
    const gate = gateFor(layer.current_version);
    if (latest.is_current || !request.setCurrentIfCompatible || gate.breaking)
      return {
        outcome: 'deduplicated',
        version: latest,
        layer: null,
        superseded: null,
        previousCurrent: layer.current_version,
        promoted: false,
        gate,
        audits: [],
      };
    return promotionOutcome('deduplicated', latest, gate);
  }

  const base = baseVersionOf(layer);
  const compatibility: Compatibility = base === null ? 'both' : context.compatibilityWith(base);
  const gate = gateFor(base);
  const versionNumber = layer.latest_version + 1;
  const created: VersionRecord = {
    version_id: context.newId(),
    dataset_id: request.datasetId,
    layer: request.layer,
    version: versionNumber,
    // Lossless: a long default such as 9223372036854775807 is stored with every digit.
    schema_text: stringifyLosslessJson(request.schema.json),
    schema_registry_id: request.schemaRegistryId,
    schema_hash: request.schema.hash,
    size_bytes: request.schema.sizeBytes,
    compatibility,
    classification: classify(base === null ? null : compatibility),
    base_version: base,
    breaking: gate.breaking,
    unmet: gate.unmet,
    is_current: false,
    promoted_at: null,
    superseded_at: null,
    superseded_by: null,
    created_at: context.now,
    created_by: context.actor,
  };
  const ingestAudit = (version: VersionRecord) =>
    audit('schema.ingest', `${target}/versions/${versionNumber}`, null, {
      version: versionNumber,
      compatibility: version.compatibility,
      classification: version.classification,
      base_version: version.base_version,
      breaking: version.breaking,
      is_current: version.is_current,
      schema_hash: version.schema_hash,
    });
  const grownLayer = { ...layer, latest_version: versionNumber };
  if (!request.setCurrentIfCompatible || gate.breaking)
    return {
      outcome: 'created',
      version: created,
      layer: grownLayer,
      superseded: null,
      previousCurrent: layer.current_version,
      promoted: false,
      gate,
      audits: [ingestAudit(created)],
    };
  return promotionOutcome('created', created, gate, grownLayer);

  function promotionOutcome(
    outcome: IngestPlan['outcome'],
    version: VersionRecord,
    gateResult: GateResult,
    baseLayer: LayerRecord = layer,
  ): IngestPlan {
    const { promotedVersion, superseded } = promote(version, context.current);
    const entries = outcome === 'created' ? [ingestAudit(promotedVersion)] : [];
    entries.push(
      audit('current.set', target, { version: layer.current_version }, { version: version.version }),
    );
    return {
      outcome,
      version: promotedVersion,
      layer: {
        ...baseLayer,
        current_version: version.version,
        promoted_versions: [...layer.promoted_versions, version.version],
      },
      superseded,
      previousCurrent: layer.current_version,
      promoted: true,
      gate: gateResult,
      audits: entries,
    };
  }
}
