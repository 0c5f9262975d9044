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

  it('grants no basic role (owner, editor, viewer) to anyone', () => {
    const roles = Object.values(config.resource).flatMap((byName) => Object.values(byName).flatMap((blocks) => blocks.map((b) => b.role))).filter(Boolean);
    expect(roles.length).toBeGreaterThan(5);
    for (const role of roles) expect(role).not.toMatch(/^roles\/(owner|editor|viewer)$/);
  });
});
