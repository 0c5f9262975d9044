import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from '@cdktf/hcl2json';
import { beforeAll, describe, expect, it } from 'vitest';
import { functionTargets } from '../../local/functionHost.ts';
import { PUSH_SUBSCRIPTIONS, TASK_QUEUES, TOPICS } from '../../shared/runtime/resources.ts';

type Block = Record<string, unknown>;
const ROOT = join(import.meta.dirname, '..', '..');
const TERRAFORM_DIR = join(ROOT, 'terraform');
const OPENAPI = join(ROOT, 'functions', 'openapi.json');

/** The function suite terraform deploys (one folder of functions/ each). */
const FUNCTIONS = ['api', 'automation', 'compaction', 'delta-commit', 'rebuild', 'run-trigger', 'task-completion'];

/** The whole configuration as JSON (offline: the Terraform registry is not reachable, so no validate). */
async function loadConfiguration() {
  const merged = {
    resource: {} as Record<string, Record<string, Block[]>>,
    data: {} as Record<string, Record<string, Block[]>>,
    output: {} as Record<string, Block[]>,
    terraform: [] as Block[],
    locals: [] as Block[],
  };
  for (const file of readdirSync(TERRAFORM_DIR).filter((f) => f.endsWith('.tf'))) {
    const json = await parse(file, readFileSync(join(TERRAFORM_DIR, file), 'utf8'));
    for (const kind of ['resource', 'data'] as const)
      for (const [type, byName] of Object.entries((json[kind] ?? {}) as Record<string, Record<string, Block[]>>))
        merged[kind][type] = { ...merged[kind][type], ...byName };
    Object.assign(merged.output, json.output ?? {});
    merged.terraform.push(...((json.terraform ?? []) as Block[]));
    merged.locals.push(...((json.locals ?? []) as Block[]));
  }
  return merged;
}

const strings = (value: unknown): string[] =>
  typeof value === 'string' ? [value] : Array.isArray(value) ? value.flatMap(strings) : value && typeof value === 'object' ? Object.values(value).flatMap(strings) : [];

interface StorageGrant {
  function: string;
  role: string;
  prefixes: string[] | null;
  except: string[] | null;
}
interface FirestoreGrant {
  function: string;
  role: string;
  database: 'default' | 'delta';
}

describe('terraform/ (offline checks)', () => {
  let config: Awaited<ReturnType<typeof loadConfiguration>>;
  let locals: Record<string, unknown>;
  beforeAll(async () => {
    config = await loadConfiguration();
    locals = Object.assign({}, ...config.locals) as Record<string, unknown>;
  });
  const resource = (type: string, name: string) => config.resource[type]?.[name]?.[0] as Block | undefined;
  const fnLocals = () => locals.functions as Record<string, { trigger: string; task_token: boolean }>;
  const storageGrants = () => Object.values(locals.storage_grants as Record<string, StorageGrant>);
  const firestoreGrants = () => Object.values(locals.firestore_grants as Record<string, FirestoreGrant>);
  const queueGrants = () => locals.queue_grants as Record<string, string[]>;

  /**
   * What a function may do to an object (scope-relative: `ledger/…`, `tables/t/_delta_log/…`), by the
   * same rule as the conditions iam.tf writes: a grant names prefixes (`{workspace}/{prefix}/`), or
   * every object of a workspace except some prefixes, or (null, null) the whole bucket.
   */
  function storageAccess(fn: string, relative: string) {
    const matches = (g: StorageGrant) =>
      g.except !== null
        ? !g.except.some((p) => relative.startsWith(`${p}/`))
        : g.prefixes === null || g.prefixes.some((p) => relative.startsWith(`${p}/`));
    const roles = storageGrants()
      .filter((g) => g.function === fn && matches(g))
      .map((g) => g.role);
    const user = roles.includes('roles/storage.objectUser') || roles.includes('roles/storage.objectAdmin');
    return {
      read: user || roles.includes('roles/storage.objectViewer'),
      create: user || roles.includes('roles/storage.objectCreator'),
      overwrite: user,
    };
  }
  const who = (relative: string, action: 'read' | 'create' | 'overwrite') =>
    FUNCTIONS.filter((fn) => storageAccess(fn, relative)[action]);

  it('is formatted (terraform fmt -check -recursive)', () => {
    expect(() => execFileSync('terraform', ['fmt', '-check', '-recursive', TERRAFORM_DIR], { stdio: 'pipe' })).not.toThrow();
  });

  it('declares exactly the function suite, each running as a service account of its own', () => {
    expect(Object.keys(fnLocals()).sort()).toEqual(FUNCTIONS);
    const fn = resource('google_cloudfunctions2_function', 'function')!;
    expect(fn.for_each).toBe('${local.functions}');
    expect(strings(fn.service_config)).toContain('${google_service_account.function[each.key].email}');
    expect(resource('google_service_account', 'function')?.for_each).toBe('${local.functions}');
    expect(resource('google_service_account', 'function')?.account_id).toBe('arco-${each.key}');
    // The demo worker is the user's own deployment now (docs/deployment-security.md).
    expect(JSON.stringify(config.resource)).not.toMatch(/function\[\\?"worker\\?"\]/);
  });

  // Passes once functions/ has one folder per function (the split of functions/ into these folders).
  it('has a function entry for every folder of functions/', () => {
    expect(Object.keys(fnLocals()).sort()).toEqual(functionTargets());
  });

  it('builds compiled JS from the repository root, without tests, docs, examples or terraform', () => {
    const build = (resource('google_cloudfunctions2_function', 'function')!.build_config as Block[])[0]!;
    expect(build.runtime).toBe('nodejs20');
    expect(build.entry_point).toBe('${each.key}');
    const source = config.data.archive_file?.source?.[0] as Block;
    expect(source.source_dir).toBe('${path.module}/..');
    for (const excluded of ['examples', 'test', 'bench', 'docs', 'terraform', '.arco', 'node_modules', 'dist'])
      expect(source.excludes).toContain(excluded);
  });

  it('declares every topic, push subscription and queue the code names', () => {
    const topics = Object.values(config.resource.google_pubsub_topic ?? {}).map((b) => b[0]!.name);
    for (const topic of TOPICS) expect(topics).toContain(topic);
    const subscriptions = Object.values(config.resource.google_pubsub_subscription ?? {}).map((b) => b[0]!.name);
    for (const push of PUSH_SUBSCRIPTIONS.filter((p) => !p.eventTrigger))
      expect(subscriptions).toContain(push.subscription);
    // Eventarc creates the subscription of a function's event trigger: the function names the topic.
    for (const push of PUSH_SUBSCRIPTIONS.filter((p) => p.eventTrigger)) {
      const [key] = Object.entries(config.resource.google_pubsub_topic ?? {}).find(([, b]) => b[0]!.name === push.topic)!;
      expect(strings(resource('google_cloudfunctions2_function', 'function'))).toContain(`\${google_pubsub_topic.${key}.id}`);
    }
    const queues = strings(resource('google_cloud_tasks_queue', 'queue')?.for_each).join(' ');
    for (const queue of TASK_QUEUES) expect(queues).toContain(`"${queue}"`);
  });

  it('runs the automation function from the ticks topic, which Cloud Scheduler publishes to', () => {
    const triggered = Object.entries(fnLocals()).filter(([, f]) => f.trigger === 'pubsub');
    expect(triggered.map(([name]) => name)).toEqual(['automation']);
    const fn = resource('google_cloudfunctions2_function', 'function')!;
    const trigger = ((fn.dynamic as Block).event_trigger as Block[])[0]!;
    expect(trigger.for_each).toBe('${each.value.trigger == "pubsub" ? [1] : []}');
    expect((trigger.content as Block[])[0]).toMatchObject({
      event_type: 'google.cloud.pubsub.topic.v1.messagePublished',
      pubsub_topic: '${google_pubsub_topic.automation_ticks.id}',
      retry_policy: 'RETRY_POLICY_RETRY',
      service_account_email: '${google_service_account.pusher.email}',
    });
    expect(resource('google_pubsub_topic', 'automation_ticks')?.name).toBe('arco-automation-ticks');
    const job = resource('google_cloud_scheduler_job', 'automation_tick')!;
    expect(job.http_target).toBeUndefined();
    expect((job.pubsub_target as Block[])[0]).toEqual({
      topic_name: '${google_pubsub_topic.automation_ticks.id}',
      data: '${base64encode(jsonencode({ tenant = each.value.tenant, workspace = each.value.workspace }))}',
    });
    // Only the trigger's identity may invoke it.
    const invokers = Object.values(locals.invokers as Record<string, { function: string; member: string }>);
    expect(invokers.filter((i) => i.function === 'automation').map((i) => i.member)).toEqual([
      'serviceAccount:${google_service_account.pusher.email}',
    ]);
  });

  it('builds the gateway from functions/openapi.json without its local-only paths', () => {
    const versions = config.terraform.flatMap((t) => t.required_providers as Block[]);
    expect(versions.some((p) => (p['google-beta'] as Block | undefined)?.source === 'hashicorp/google-beta')).toBe(true);
    expect(locals.openapi_source).toContain('templatefile("${path.module}/../functions/openapi.json"');
    expect(locals.openapi_source).toContain('"${replace(name, "-", "_")}_url" => url');
    expect(locals.openapi_document).toContain('if !try(item["x-arco-local-only"], false)');
    const apiConfig = resource('google_api_gateway_api_config', 'arco')!;
    expect(apiConfig.provider).toBe('${google-beta}');
    const document = ((apiConfig.openapi_documents as Block[])[0]!.document as Block[])[0]!;
    expect(document.contents).toBe('${base64encode(jsonencode(local.openapi_document))}');
    expect(apiConfig.api_config_id).toMatch(/sha256\(local\.openapi_contents\)/);
    expect(locals.openapi_contents).toBe('${jsonencode(local.openapi_document)}');
    expect((apiConfig.lifecycle as Block[])[0]!.create_before_destroy).toBe(true);
    expect(resource('google_api_gateway_gateway', 'arco')?.api_config).toBe('${google_api_gateway_api_config.arco.id}');
    expect(locals.gateway_url).toBe('https://${google_api_gateway_gateway.arco.default_hostname}');
    expect(config.output.gateway_url?.[0]?.value).toBe('${local.gateway_url}');
    // Every function publishes the gateway as its base URL and sends hints straight to compaction.
    const env = ((resource('google_cloudfunctions2_function', 'function')!.service_config as Block[])[0]!
      .environment_variables as Block);
    expect(env.ARCO_PUBLIC_BASE_URL).toBe('${local.gateway_url}');
    expect(env.ARCO_COMPACTOR_URL).toBe('${local.function_urls["compaction"]}/compactor');
  });

  it.skipIf(!existsSync(OPENAPI))('names only declared functions as backends of functions/openapi.json', () => {
    const text = readFileSync(OPENAPI, 'utf8');
    const variables = new Set(Object.keys(fnLocals()).map((name) => `${name.replace(/-/g, '_')}_url`));
    // templatefile() refuses a document naming a variable it was not given.
    for (const [, variable] of text.matchAll(/\$\{([^}]*)\}/g)) expect(variables).toContain(variable);
    const doc = JSON.parse(text) as { swagger: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.swagger).toBe('2.0');
    const kept = Object.entries(doc.paths).filter(([, item]) => item['x-arco-local-only'] !== true);
    expect(kept.length).toBeGreaterThan(0);
    for (const [, item] of kept)
      for (const [method, operation] of Object.entries(item)) {
        if (method.startsWith('x-') || method === 'parameters') continue;
        const backend = (operation as Record<string, Record<string, unknown>>)['x-google-backend'];
        expect(backend?.disable_auth).toBe(true);
        expect(backend?.path_translation).toBe('APPEND_PATH_TO_ADDRESS');
        // The automation function has no HTTP surface.
        expect(backend?.address).not.toBe('${automation_url}');
        // API Gateway cuts a call off at 15 s unless told otherwise: each path may take its function's timeout.
        const fn = String(backend?.address).slice(2, -5).replaceAll('_', '-');
        expect(backend?.deadline, `${method} deadline`).toBe(
          (fnLocals() as unknown as Record<string, { timeout: number }>)[fn]!.timeout,
        );
      }
  });

  it('keeps the ledger create-only and gives each prefix of a workspace to its writers alone', () => {
    // Ledger events are created, never overwritten, by those who append.
    expect(who('ledger/orchestration/2024-01-01/e.json', 'create')).toEqual(['api', 'automation', 'compaction', 'run-trigger', 'task-completion']);
    expect(who('ledger/orchestration/2024-01-01/e.json', 'overwrite')).toEqual([]);
    // Projections, manifests and the pointer: the compactor and the rebuild.
    expect(who('state/orchestration/manifest.pointer.json', 'overwrite')).toEqual(['compaction', 'rebuild']);
    expect(who('state/orchestration/shards/runs/0/x.ndjson', 'create')).toEqual(['compaction', 'rebuild']);
    // Step manifests: the compactor; backfill summaries (write-once): whoever advances pipeline backfills.
    expect(who('manifests/a/b/run=r/manifest.json', 'overwrite')).toEqual(['compaction']);
    expect(who('manifests/backfills/b/summary.json', 'create')).toEqual(['automation', 'compaction', 'run-trigger']);
    // Current pointers: the api (set, rollback) and pipeline backfills (run-trigger's commands, automation).
    expect(who('pointers/data/a/current.json', 'overwrite')).toEqual(['api', 'automation', 'run-trigger']);
    // Delta staging, markers and table roots: delta-commit alone.
    for (const path of ['delta/staging/t/x.json', 'delta/idempotency/t/aa/x.json', 'tables/t/_delta_log/00000000000000000000.json', 'sales/orders/part-0.parquet']) {
      expect(who(path, 'create')).toEqual(['delta-commit']);
      expect(who(path, 'overwrite')).toEqual(['delta-commit']);
    }
    // delta-commit cannot touch the orchestration prefixes.
    for (const path of ['ledger/orchestration/d/e.json', 'state/orchestration/manifest.pointer.json', 'manifests/x', 'pointers/x'])
      expect(storageAccess('delta-commit', path)).toEqual({ read: false, create: false, overwrite: false });
  });

  it('lets the api read everything but write only ledger events (create) and pointers', () => {
    expect(storageAccess('api', 'delta/staging/t/x.json').read).toBe(true);
    expect(storageAccess('api', 'ledger/orchestration/d/e.json')).toEqual({ read: true, create: true, overwrite: false });
    for (const path of ['state/orchestration/manifest.pointer.json', 'manifests/a/run=r/m.json', 'manifests/backfills/b/summary.json', 'delta/staging/t/x', 'tables/t/_delta_log/0.json'])
      expect(storageAccess('api', path)).toEqual({ read: true, create: false, overwrite: false });
    const api = storageGrants().filter((g) => g.function === 'api');
    expect(api.map((g) => `${g.role} on ${g.prefixes?.join(',') ?? 'the bucket'}`).sort()).toEqual([
      'roles/storage.objectCreator on ledger',
      'roles/storage.objectUser on pointers',
      'roles/storage.objectViewer on the bucket',
    ]);
  });

  it('writes every bucket condition as a prefix template of every workspace', () => {
    expect(locals.data_objects).toBe('projects/_/buckets/${google_storage_bucket.data.name}/objects');
    const conditions = String(locals.storage_conditions);
    expect(conditions).toContain('resource.name.extract(\\"${local.data_objects}/{workspace}/${p}/\\") != \\"\\"');
    expect(conditions).toContain('resource.name.extract(\\"${local.data_objects}/{workspace}/${p}/\\") == \\"\\"');
    expect(conditions).toContain('resource.name.startsWith(\\"${local.data_objects}/tenant=\\")');
    const binding = resource('google_storage_bucket_iam_member', 'data')!;
    expect(binding.for_each).toBe('${local.storage_grants}');
    expect(strings(binding.dynamic)).toContain('${condition.value}');
    // Conditions need uniform bucket-level access.
    expect(resource('google_storage_bucket', 'data')?.uniform_bucket_level_access).toBe(true);
    // Only plain reads are ever unconditioned; no admin role anywhere on the bucket.
    for (const grant of storageGrants()) {
      expect(['roles/storage.objectViewer', 'roles/storage.objectCreator', 'roles/storage.objectUser']).toContain(grant.role);
      if (grant.prefixes === null && grant.except === null) expect(grant.role).toBe('roles/storage.objectViewer');
    }
    const bucketRoles = Object.values(config.resource)
      .flatMap((byName) => Object.values(byName).flatMap((blocks) => blocks))
      .map((b) => b.role);
    expect(bucketRoles).not.toContain('roles/storage.admin');
    expect(bucketRoles).not.toContain('roles/storage.objectAdmin');
  });

  it('gives arco-delta to delta-commit alone and (default) to everyone else, by IAM condition', () => {
    expect(resource('google_firestore_database', 'delta')?.name).toBe('arco-delta');
    expect(resource('google_firestore_database', 'default')?.name).toBe('(default)');
    const databases = locals.firestore_databases as Record<string, string>;
    expect(databases.default).toBe('projects/${var.project}/databases/(default)');
    expect(databases.delta).toBe('projects/${var.project}/databases/${google_firestore_database.delta.name}');
    const grants = firestoreGrants();
    expect(grants.filter((g) => g.database === 'delta').map((g) => [g.function, g.role])).toEqual([['delta-commit', 'roles/datastore.user']]);
    for (const fn of FUNCTIONS.filter((f) => f !== 'delta-commit'))
      expect(grants.filter((g) => g.function === fn).map((g) => [g.role, g.database])).toEqual([['roles/datastore.user', 'default']]);
    // delta-commit reads (default) for the principal directory only.
    expect(grants.filter((g) => g.function === 'delta-commit' && g.database === 'default').map((g) => g.role)).toEqual(['roles/datastore.viewer']);
    const binding = resource('google_project_iam_member', 'firestore')!;
    expect(binding.for_each).toBe('${local.firestore_grants}');
    expect((binding.condition as Block[])[0]!.expression).toBe('resource.name == "${local.firestore_databases[each.value.database]}"');
    // No other project-wide grant exists.
    expect(Object.keys(config.resource.google_project_iam_member ?? {})).toEqual(['firestore']);
    const env = ((resource('google_cloudfunctions2_function', 'function')!.service_config as Block[])[0]!
      .environment_variables as Block);
    expect(env.ARCO_DELTA_DATABASE).toBe('${google_firestore_database.delta.name}');
  });

  it('lets only the functions that enqueue create tasks, each on its own queues', () => {
    expect(queueGrants()).toEqual({
      'arco-compaction-hints': ['api', 'run-trigger', 'task-completion', 'automation'],
      'arco-dispatch': ['compaction', 'automation'],
      'arco-timers': ['compaction', 'automation'],
    });
    for (const fn of ['rebuild', 'delta-commit'])
      expect(Object.values(queueGrants()).flat()).not.toContain(fn);
    const enqueuer = resource('google_cloud_tasks_queue_iam_member', 'enqueuer')!;
    expect(enqueuer.role).toBe('roles/cloudtasks.enqueuer');
    expect(enqueuer.name).toBe('${google_cloud_tasks_queue.queue[each.value.queue].name}');
    expect(resource('google_service_account_iam_member', 'act_as_tasks')?.for_each).toBe('${toset(local.enqueuers)}');
    expect(locals.enqueuers).toBe('${distinct(flatten(values(local.queue_grants)))}');
    // The sweeper reads whether a dispatch is still queued, on that queue only.
    expect(resource('google_cloud_tasks_queue_iam_member', 'dispatch_viewer')).toMatchObject({
      name: '${google_cloud_tasks_queue.queue["arco-dispatch"].name}',
      role: 'roles/cloudtasks.viewer',
      member: 'serviceAccount:${google_service_account.function["automation"].email}',
    });
  });

  it('gives the task-token secret to its signers and its verifier only', () => {
    const holders = Object.entries(fnLocals()).filter(([, f]) => f.task_token).map(([name]) => name).sort();
    expect(holders).toEqual(['automation', 'compaction', 'task-completion']);
    expect(resource('google_secret_manager_secret_iam_member', 'task_token')?.for_each).toBe('${toset([for name, fn in local.functions : name if fn.task_token])}');
    const fn = resource('google_cloudfunctions2_function', 'function')!;
    const secret = (((fn.service_config as Block[])[0]!.dynamic as Block).secret_environment_variables as Block[])[0]!;
    expect(secret.for_each).toBe('${each.value.task_token ? [1] : []}');
  });

  it('gives task-completion exactly what callbacks and timers need', () => {
    const fn = 'task-completion';
    expect(firestoreGrants().filter((g) => g.function === fn).map((g) => `${g.role} on ${g.database}`)).toEqual(['roles/datastore.user on default']);
    expect(storageGrants().filter((g) => g.function === fn).map((g) => `${g.role} on ${g.prefixes?.join(',')}`).sort()).toEqual([
      'roles/storage.objectCreator on ledger',
      'roles/storage.objectViewer on ledger,state/orchestration',
    ]);
    expect(Object.entries(queueGrants()).filter(([, fns]) => fns.includes(fn)).map(([q]) => q)).toEqual(['arco-compaction-hints']);
    expect(storageAccess(fn, 'delta/staging/t/x')).toEqual({ read: false, create: false, overwrite: false });
  });

  it('makes public only the functions behind the gateway; internal ones accept their callers alone', () => {
    const invokers = Object.values(locals.invokers as Record<string, { function: string; member: string }>);
    expect(invokers.filter((i) => i.member === 'allUsers').map((i) => i.function).sort()).toEqual(['api', 'delta-commit', 'run-trigger', 'task-completion']);
    expect(invokers.filter((i) => i.function === 'compaction').map((i) => i.member)).toEqual(['serviceAccount:${google_service_account.tasks.email}']);
    expect(invokers.filter((i) => i.function === 'rebuild').map((i) => i.member)).toEqual(['serviceAccount:${google_service_account.tasks.email}']);
    expect(resource('google_cloud_run_service_iam_member', 'rebuild_operator')?.for_each).toBe('${toset(var.rebuild_operators)}');
    for (const fn of FUNCTIONS) expect(invokers.some((i) => i.function === fn)).toBe(true);
  });

  it('writes the principal directory where the OIDC verifier reads it', () => {
    expect(resource('google_firestore_document', 'principal')?.collection).toBe('arco_principals');
    expect(readFileSync(join(ROOT, 'shared', 'auth', 'googleOidcVerifier.ts'), 'utf8')).toContain('arco_principals/');
  });

  it('defines a log-based metric and an alert for every alert runbook 002 names', () => {
    const all = locals as Record<string, Record<string, Block>>;
    const metrics = [
      ...Object.keys(all.log_counters!),
      ...Object.keys(all.registry_counters!),
      ...Object.keys(all.registry_distributions!),
      ...Object.values(config.resource.google_logging_metric ?? {}).map((b) => b[0]!.name as string),
    ];
    const alerted = Object.values(all.threshold_alerts!).map((a) => a.metric);
    for (const name of ['dcr_breaking_changes_total', 'dcr_current_set_total', 'dcr_diff_latency_ms', 'registry_store_latency_ms', 'registry_store_errors_total', 'api_request_duration_ms']) {
      expect(metrics).toContain(name);
      expect(alerted).toContain(name);
    }
    expect(strings(resource('google_monitoring_alert_policy', 'ingest_error_rate')?.conditions)).toContain(
      'metric.type="logging.googleapis.com/user/dcr_schema_ingests_total" AND resource.type="cloud_run_revision"',
    );
  });

  it('indexes the registry queries of contract-registry.md §13 from the emulator config file', () => {
    const file = JSON.parse(readFileSync(join(ROOT, 'emulator-config', 'firestore.indexes.json'), 'utf8')) as {
      indexes: Array<{ collectionGroup: string; fields: Array<{ fieldPath: string }> }>;
    };
    const declared = file.indexes.map((i) => `${i.collectionGroup}(${i.fields.map((f) => f.fieldPath).join(',')})`);
    for (const wanted of ['dcr_datasets(namespace,name)', 'dcr_datasets(status,namespace,name)', 'dcr_datasets(namespace,status,name)', 'dcr_subscriptions(dataset_id,layer,consumer)'])
      expect(declared).toContain(wanted);
    expect(strings(resource('google_firestore_index', 'composite')?.for_each).join(' ')).toContain('local.firestore_indexes.indexes');
  });

  it('grants no basic role (owner, editor, viewer) to anyone', () => {
    const roles = [
      ...Object.values(config.resource).flatMap((byName) => Object.values(byName).flatMap((blocks) => blocks.map((b) => b.role))),
      ...storageGrants().map((g) => g.role),
      ...firestoreGrants().map((g) => g.role),
    ].filter((r): r is string => typeof r === 'string' && !r.startsWith('${'));
    expect(roles.length).toBeGreaterThan(5);
    for (const role of roles) expect(role).not.toMatch(/^roles\/(owner|editor|viewer)$/);
  });
});
