import { compareUtf8 } from '../core/canonicalJson.ts';
import { type Compatibility, satisfies } from './compatibility.ts';
import type { Requirement } from './registryRecords.ts';

/** A requirement the candidate fails (spec §7.3), in the order R0, R1, then R2 by consumer, id, version. */
export interface UnmetRequirement {
  requirement: 'not_breaking' | 'default_backward' | 'subscription';
  against_version: number;
  required: 'any' | 'backward' | 'forward' | 'both';
  actual: Compatibility;
  subscription_id?: string;
  consumer?: string;
}

export interface GateInput {
  /** The version the candidate is classified against and its compatibility with it; null for a first version. */
  base: { version: number; compatibility: Compatibility } | null;
  currentVersion: number | null;
  promotedVersions: number[];
  requirements: Requirement[];
  /** The candidate's compatibility against an earlier version of the layer. */
  compatibilityWith: (version: number) => Compatibility;
}

export interface GateResult {
  breaking: boolean;
  unmet: UnmetRequirement[];
}

/** The versions a requirement set needs compared: the promoted ones some subscription's window covers. */
export function gateWindow(promotedVersions: number[], requirements: Requirement[]): number[] {
  if (requirements.length === 0) return [];
  const lowest = Math.min(...requirements.map((r) => r.min_version));
  return promotedVersions.filter((v) => v >= lowest);
}

/** Spec §7.3: whether a candidate may become current, and every requirement it fails. */
export function evaluateGate(input: GateInput): GateResult {
  const unmet: UnmetRequirement[] = [];
  if (input.base && input.base.compatibility === 'none')
    unmet.push({
      requirement: 'not_breaking',
      against_version: input.base.version,
      required: 'any',
      actual: 'none',
    });
  if (input.requirements.length === 0 && input.currentVersion !== null) {
    const actual = input.compatibilityWith(input.currentVersion);
    if (!satisfies(actual, 'backward'))
      unmet.push({
        requirement: 'default_backward',
        against_version: input.currentVersion,
        required: 'backward',
        actual,
      });
  }
  const ordered = [...input.requirements].sort(
    (a, b) => compareUtf8(a.consumer, b.consumer) || compareUtf8(a.subscription_id, b.subscription_id),
  );
  for (const subscription of ordered)
    for (const version of [...input.promotedVersions].sort((a, b) => a - b)) {
      if (version < subscription.min_version) continue;
      const actual = input.compatibilityWith(version);
      if (!satisfies(actual, subscription.required_compatibility))
        unmet.push({
          requirement: 'subscription',
          against_version: version,
          required: subscription.required_compatibility,
          actual,
          subscription_id: subscription.subscription_id,
          consumer: subscription.consumer,
        });
    }
  return { breaking: unmet.length > 0, unmet };
}
