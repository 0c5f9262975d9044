import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from '@cdktf/hcl2json';
import { beforeAll, describe, expect, it } from 'vitest';
import { functionTargets } from '../../local/functionHost.ts';
import { PUSH_SUBSCRIPTIONS, TASK_QUEUES, TOPICS } from '../../shared/runtime/resources.ts';

type Block = Record<string, unknown>;
const TERRAFORM_DIR = join(import.meta.dirname, '..', '..', 'terraform');

/** The whole configuration as JSON (offline: the Terraform registry is not reachable, so no validate). */
async function loadConfiguration() {
  const merged: { resource: Record<string, Record<string, Block[]>>; locals: Block[] } = { resource: {}, locals: [] };
  for (const file of readdirSync(TERRAFORM_DIR).filter((f) => f.endsWith('.tf'))) {
    const json = await parse(file, readFileSync(join(TERRAFORM_DIR, file), 'utf8'));
    for (const [type, byName] of Object.entries((json.resource ?? {}) as Record<string, Record<string, Block[]>>))
      merged.resource[type] = { ...merged.resource[type], ...byName };
    merged.locals.push(...((json.locals ?? []) as Block[]));
  }
  return merged;
}

const strings = (value: unknown): string[] =>
  typeof value === 'string' ? [value] : Array.isArray(value) ? value.flatMap(strings) : value && typeof value === 'object' ? Object.values(value).flatMap(strings) : [];

describe('terraform/ (offline checks)', () => {
  let config: Awaited<ReturnType<typeof loadConfiguration>>;
  beforeAll(async () => {
    config = await loadConfiguration();
  });
  const resource = (type: string, name: string) => config.resource[type]?.[name]?.[0] as Block | undefined;

  it('is formatted (terraform fmt -check -recursive)', () => {
    expect(() => execFileSync('terraform', ['fmt', '-check', '-recursive', TERRAFORM_DIR], { stdio: 'pipe' })).not.toThrow();
  });

  it('declares a function, with a service account of its own, for every folder of functions/', () => {
    const declared = Object.keys(config.locals.find((l) => l.functions)?.functions as Block).sort();
    expect(declared).toEqual(functionTargets());
    const fn = resource('google_cloudfunctions2_function', 'function')!;
    expect(fn.for_each).toBe('${local.functions}');
    expect(strings(fn.service_config)).toContain('${google_service_account.function[each.key].email}');
    expect(strings(fn.build_config)).toContain('${each.key}');
    expect(resource('google_service_account', 'function')?.for_each).toBe('${local.functions}');
  });

  it('declares every topic, push subscription and queue the code names', () => {
    const topics = Object.values(config.resource.google_pubsub_topic ?? {}).map((b) => b[0]!.name);
    for (const topic of TOPICS) expect(topics).toContain(topic);
    const subscriptions = Object.values(config.resource.google_pubsub_subscription ?? {}).map((b) => b[0]!.name);
    for (const push of PUSH_SUBSCRIPTIONS) expect(subscriptions).toContain(push.subscription);
    const queues = strings(resource('google_cloud_tasks_queue', 'queue')?.for_each).join(' ');
    for (const queue of TASK_QUEUES) expect(queues).toContain(`"${queue}"`);
  });

  it('writes the principal directory where the OIDC verifier reads it', () => {
    expect(resource('google_firestore_document', 'principal')?.collection).toBe('arco_principals');
    expect(readFileSync(join(import.meta.dirname, '..', '..', 'shared', 'auth', 'googleOidcVerifier.ts'), 'utf8')).toContain('arco_principals/');
  });

  it('defines a log-based metric and an alert for every alert runbook 002 names', () => {
    const locals = Object.assign({}, ...config.locals) as Record<string, Record<string, Block>>;
    const metrics = [
      ...Object.keys(locals.log_counters!),
      ...Object.keys(locals.registry_counters!),
      ...Object.keys(locals.registry_distributions!),
      ...Object.values(config.resource.google_logging_metric ?? {}).map((b) => b[0]!.name as string),
    ];
    const alerted = Object.values(locals.threshold_alerts!).map((a) => a.metric);
    for (const name of ['dcr_breaking_changes_total', 'dcr_current_set_total', 'dcr_diff_latency_ms', 'registry_store_latency_ms', 'registry_store_errors_total', 'api_request_duration_ms']) {
      expect(metrics).toContain(name);
      expect(alerted).toContain(name);
    }
    expect(strings(resource('google_monitoring_alert_policy', 'ingest_error_rate')?.conditions)).toContain(
      'metric.type="logging.googleapis.com/user/dcr_schema_ingests_total" AND resource.type="cloud_run_revision"',
    );
  });

  it('indexes the registry queries of contract-registry.md §13 from the emulator config file', () => {
    const file = JSON.parse(readFileSync(join(TERRAFORM_DIR, '..', 'emulator-config', 'firestore.indexes.json'), 'utf8')) as {
      indexes: Array<{ collectionGroup: string; fields: Array<{ fieldPath: string }> }>;
    };
    const declared = file.indexes.map((i) => `${i.collectionGroup}(${i.fields.map((f) => f.fieldPath).join(',')})`);
    for (const wanted of ['dcr_datasets(namespace,name)', 'dcr_datasets(status,namespace,name)', 'dcr_datasets(namespace,status,name)', 'dcr_subscriptions(dataset_id,layer,consumer)'])
      expect(declared).toContain(wanted);
    expect(strings(resource('google_firestore_index', 'composite')?.for_each).join(' ')).toContain('local.firestore_indexes.indexes');
  });

  it('grants no basic role (owner, editor, viewer) to anyone', () => {
    const roles = Object.values(config.resource).flatMap((byName) => Object.values(byName).flatMap((blocks) => blocks.map((b) => b.role))).filter(Boolean);
    expect(roles.length).toBeGreaterThan(5);
    for (const role of roles) expect(role).not.toMatch(/^roles\/(owner|editor|viewer)$/);
  });
});
