# Least privilege per function: one service account each, and only the grants below. The table of
# function → roles → why is docs/deployment-security.md; test/terraform/terraform.test.ts pins it.
resource "google_service_account" "function" {
  for_each     = local.functions
  account_id   = "arco-${each.key}"
  display_name = "Arco ${each.key} function"
}

# Cloud Tasks presents this identity to workers and internal endpoints; operators impersonate it.
resource "google_service_account" "tasks" {
  account_id   = "arco-tasks"
  display_name = "Arco Cloud Tasks and Scheduler caller"
}

# Pub/Sub pushes (sensor events to the api, automation ticks through Eventarc) arrive as this identity.
resource "google_service_account" "pusher" {
  account_id   = "arco-pusher"
  display_name = "Arco Pub/Sub push caller"
}

locals {
  internal_callers = [google_service_account.tasks.email, google_service_account.pusher.email]

  # ── Firestore ──────────────────────────────────────────────────────────────────────────────────
  # IAM separates databases, not collections: `(default)` holds run keys, idempotency records,
  # pending batches, leases, the principal directory and the registry; `arco-delta` holds the Delta
  # coordinator state and only delta-commit may use it. delta-commit reads `(default)` only for the
  # principal directory, so it gets the viewer role there.
  firestore_databases = {
    default = "projects/${var.project}/databases/(default)"
    delta   = "projects/${var.project}/databases/${google_firestore_database.delta.name}"
  }
  firestore_grants = {
    "api/default"             = { function = "api", role = "roles/datastore.user", database = "default" }
    "run-trigger/default"     = { function = "run-trigger", role = "roles/datastore.user", database = "default" }
    "task-completion/default" = { function = "task-completion", role = "roles/datastore.user", database = "default" }
    "compaction/default"      = { function = "compaction", role = "roles/datastore.user", database = "default" }
    "rebuild/default"         = { function = "rebuild", role = "roles/datastore.user", database = "default" }
    "automation/default"      = { function = "automation", role = "roles/datastore.user", database = "default" }
    "delta-commit/default"    = { function = "delta-commit", role = "roles/datastore.viewer", database = "default" }
    "delta-commit/delta"      = { function = "delta-commit", role = "roles/datastore.user", database = "delta" }
  }

  # ── The data bucket ────────────────────────────────────────────────────────────────────────────
  # Every object is `tenant={t}/workspace={w}/{prefix}/…`. A condition names a prefix of every
  # workspace with extract(): `{workspace}` matches `tenant={t}/workspace={w}`, and extract() returns
  # "" when the name does not match the template. No code lists or deletes objects, so conditioned
  # grants (which never match the bucket itself, the resource a list names) are enough.
  #   read   → roles/storage.objectViewer  (get)
  #   create → roles/storage.objectCreator (create only: the ledger and other write-once objects)
  #   write  → roles/storage.objectUser    (overwrite: projections, pointers, Delta files)
  # A null prefix list is an unconditioned grant on the bucket; `except` grants everything in a
  # workspace but the named prefixes (Delta table roots live anywhere else in the workspace).
  data_objects = "projects/_/buckets/${google_storage_bucket.data.name}/objects"
  storage_grants = {
    "api/read"               = { function = "api", role = "roles/storage.objectViewer", prefixes = null, except = null }
    "api/create"             = { function = "api", role = "roles/storage.objectCreator", prefixes = ["ledger"], except = null }
    "api/write"              = { function = "api", role = "roles/storage.objectUser", prefixes = ["pointers"], except = null }
    "run-trigger/read"       = { function = "run-trigger", role = "roles/storage.objectViewer", prefixes = ["ledger", "state/orchestration", "manifests"], except = null }
    "run-trigger/create"     = { function = "run-trigger", role = "roles/storage.objectCreator", prefixes = ["ledger", "manifests/backfills"], except = null }
    "run-trigger/write"      = { function = "run-trigger", role = "roles/storage.objectUser", prefixes = ["pointers"], except = null }
    "task-completion/read"   = { function = "task-completion", role = "roles/storage.objectViewer", prefixes = ["ledger", "state/orchestration"], except = null }
    "task-completion/create" = { function = "task-completion", role = "roles/storage.objectCreator", prefixes = ["ledger"], except = null }
    "compaction/read"        = { function = "compaction", role = "roles/storage.objectViewer", prefixes = ["ledger"], except = null }
    "compaction/create"      = { function = "compaction", role = "roles/storage.objectCreator", prefixes = ["ledger"], except = null }
    "compaction/write"       = { function = "compaction", role = "roles/storage.objectUser", prefixes = ["state/orchestration", "manifests"], except = null }
    "rebuild/read"           = { function = "rebuild", role = "roles/storage.objectViewer", prefixes = ["ledger"], except = null }
    "rebuild/write"          = { function = "rebuild", role = "roles/storage.objectUser", prefixes = ["state/orchestration"], except = null }
    "automation/read"        = { function = "automation", role = "roles/storage.objectViewer", prefixes = ["ledger", "state/orchestration", "manifests"], except = null }
    "automation/create"      = { function = "automation", role = "roles/storage.objectCreator", prefixes = ["ledger", "manifests/backfills"], except = null }
    "automation/write"       = { function = "automation", role = "roles/storage.objectUser", prefixes = ["pointers"], except = null }
    "delta-commit/write"     = { function = "delta-commit", role = "roles/storage.objectUser", prefixes = null, except = ["ledger", "state", "manifests", "pointers"] }
  }
  storage_conditions = {
    for key, grant in local.storage_grants : key => (
      grant.except != null
      ? join(" && ", concat(
        ["resource.name.startsWith(\"${local.data_objects}/tenant=\")"],
        [for p in grant.except : "resource.name.extract(\"${local.data_objects}/{workspace}/${p}/\") == \"\""],
      ))
      : grant.prefixes == null ? null
      : join(" || ", [for p in grant.prefixes : "resource.name.extract(\"${local.data_objects}/{workspace}/${p}/\") != \"\""])
    )
  }

  # ── Cloud Tasks ────────────────────────────────────────────────────────────────────────────────
  # Queue-level enqueuer grants, exactly where the code enqueues: every ledger append hints the
  # compaction function (api commands, run commands, callbacks, automation); the dispatch controller
  # (compaction's fold, the automation sweeper) enqueues dispatches and retry timers.
  queue_grants = {
    "arco-compaction-hints" = ["api", "run-trigger", "task-completion", "automation"]
    "arco-dispatch"         = ["compaction", "automation"]
    "arco-timers"           = ["compaction", "automation"]
  }
  enqueuers = distinct(flatten(values(local.queue_grants)))
}

resource "google_project_iam_member" "firestore" {
  for_each = local.firestore_grants
  project  = var.project
  role     = each.value.role
  member   = "serviceAccount:${google_service_account.function[each.value.function].email}"
  condition {
    title      = "database-${each.value.database}"
    expression = "resource.name == \"${local.firestore_databases[each.value.database]}\""
  }
}

resource "google_storage_bucket_iam_member" "data" {
  for_each = local.storage_grants
  bucket   = google_storage_bucket.data.name
  role     = each.value.role
  member   = "serviceAccount:${google_service_account.function[each.value.function].email}"
  dynamic "condition" {
    for_each = local.storage_conditions[each.key] == null ? [] : [local.storage_conditions[each.key]]
    content {
      title      = replace(each.key, "/", "-")
      expression = condition.value
    }
  }
}

resource "google_cloud_tasks_queue_iam_member" "enqueuer" {
  for_each = { for pair in flatten([for queue, fns in local.queue_grants : [for fn in fns : { queue = queue, function = fn }]]) : "${pair.queue}/${pair.function}" => pair }
  name     = google_cloud_tasks_queue.queue[each.value.queue].name
  location = var.region
  role     = "roles/cloudtasks.enqueuer"
  member   = "serviceAccount:${google_service_account.function[each.value.function].email}"
}

# The sweeper asks whether a stuck dispatch's Cloud Task is still queued before it creates it again
# (GetTask, which the enqueuer role does not include).
resource "google_cloud_tasks_queue_iam_member" "dispatch_viewer" {
  name     = google_cloud_tasks_queue.queue["arco-dispatch"].name
  location = var.region
  role     = "roles/cloudtasks.viewer"
  member   = "serviceAccount:${google_service_account.function["automation"].email}"
}

# A task carries an OIDC token of the tasks identity, so whoever creates one must be able to act as it.
resource "google_service_account_iam_member" "act_as_tasks" {
  for_each           = toset(local.enqueuers)
  service_account_id = google_service_account.tasks.name
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${google_service_account.function[each.key].email}"
}

# compaction and the automation sweeper sign task tokens; task-completion verifies them.
resource "google_secret_manager_secret_iam_member" "task_token" {
  for_each  = toset([for name, fn in local.functions : name if fn.task_token])
  secret_id = google_secret_manager_secret.task_token.id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.function[each.key].email}"
}

# Invokers. Functions behind the gateway are public at the Cloud Run layer (the gateway passes the
# caller's bearer token through and the function verifies it: a Google ID token, or a task token on
# callbacks); compaction and rebuild accept only the tasks identity (and rebuild the operators); the
# automation function only its Eventarc trigger's identity.
locals {
  invokers = {
    "api/public"             = { function = "api", member = "allUsers" }
    "run-trigger/public"     = { function = "run-trigger", member = "allUsers" }
    "task-completion/public" = { function = "task-completion", member = "allUsers" }
    "delta-commit/public"    = { function = "delta-commit", member = "allUsers" }
    "compaction/tasks"       = { function = "compaction", member = "serviceAccount:${google_service_account.tasks.email}" }
    "rebuild/tasks"          = { function = "rebuild", member = "serviceAccount:${google_service_account.tasks.email}" }
    "automation/pusher"      = { function = "automation", member = "serviceAccount:${google_service_account.pusher.email}" }
  }
}

resource "google_cloud_run_service_iam_member" "invoker" {
  for_each = local.invokers
  location = var.region
  service  = google_cloudfunctions2_function.function[each.value.function].service_config[0].service
  role     = "roles/run.invoker"
  member   = each.value.member
}

resource "google_cloud_run_service_iam_member" "rebuild_operator" {
  for_each = toset(var.rebuild_operators)
  location = var.region
  service  = google_cloudfunctions2_function.function["rebuild"].service_config[0].service
  role     = "roles/run.invoker"
  member   = each.value
}

# Pub/Sub (the sensor push subscription, the automation ticks' Eventarc trigger) mints the pusher's
# OIDC tokens through its service agent; projects created before April 2021 need this grant explicitly.
resource "google_service_account_iam_member" "pubsub_mints_pusher_tokens" {
  service_account_id = google_service_account.pusher.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}
