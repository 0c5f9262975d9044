locals {
  # One entry per folder of functions/ (test/terraform checks that they match). `trigger` is "http" or
  # "pubsub" (a CloudEvent function on the automation ticks topic); `task_token` says whether the
  # function gets the task-token secret (compaction and the automation sweeper sign dispatch tokens,
  # task-completion verifies them). Who may call each one and what it may touch: iam.tf and
  # docs/deployment-security.md.
  functions = {
    api               = { trigger = "http", memory = "512Mi", timeout = 60, max_instances = 20, task_token = false }
    "run-trigger"     = { trigger = "http", memory = "512Mi", timeout = 60, max_instances = 20, task_token = false }
    "task-completion" = { trigger = "http", memory = "512Mi", timeout = 60, max_instances = 20, task_token = true }
    # One instance takes every hint, so each workspace has one warm scheduler; it serves many at once.
    compaction     = { trigger = "http", memory = "1Gi", timeout = 300, max_instances = 1, task_token = true }
    rebuild        = { trigger = "http", memory = "1Gi", timeout = 900, max_instances = 1, task_token = false }
    "delta-commit" = { trigger = "http", memory = "1Gi", timeout = 300, max_instances = 20, task_token = false }
    automation     = { trigger = "pubsub", memory = "512Mi", timeout = 300, max_instances = 10, task_token = true }
  }

  # Every function's deterministic Cloud Run URL (https://SERVICE-PROJECT_NUMBER.REGION.run.app). The
  # functions' own environment and the gateway's OpenAPI document name these instead of
  # `service_config[0].uri`: the functions need the gateway's hostname and the compaction URL, so using
  # the resource's own attribute would make the configuration depend on itself.
  function_urls = { for name, _ in local.functions : name => "https://arco-${name}-${data.google_project.this.number}.${var.region}.run.app" }
}

data "archive_file" "source" {
  type        = "zip"
  source_dir  = "${path.module}/.."
  output_path = "${path.module}/.build/source.zip"
  # Cloud Build runs `npm ci` and the `gcp-build` script, which compiles; what is left out here is
  # neither shipped nor built.
  excludes = ["node_modules", "dist", ".arco", ".git", "test-output", "terraform", "test", "bench", "docs", "examples"]
}

resource "google_storage_bucket_object" "source" {
  name   = "source-${data.archive_file.source.output_md5}.zip"
  bucket = google_storage_bucket.sources.name
  source = data.archive_file.source.output_path
}

resource "google_cloudfunctions2_function" "function" {
  for_each = local.functions
  name     = "arco-${each.key}"
  location = var.region

  build_config {
    runtime     = "nodejs20"
    entry_point = each.key
    source {
      storage_source {
        bucket = google_storage_bucket.sources.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    service_account_email = google_service_account.function[each.key].email
    available_memory      = each.value.memory
    timeout_seconds       = each.value.timeout
    max_instance_count    = each.value.max_instances
    # Hints, callbacks and reads are short and mostly wait on storage: one instance serves many at once.
    available_cpu                    = "1"
    max_instance_request_concurrency = 80
    environment_variables = {
      NODE_ENV                       = "production"
      ARCO_AUTH_MODE                 = "google"
      ARCO_STORAGE_BUCKET            = google_storage_bucket.data.name
      ARCO_DELTA_DATABASE            = google_firestore_database.delta.name
      ARCO_LOCATION                  = var.region
      ARCO_INTERNAL_SERVICE_ACCOUNTS = join(",", local.internal_callers)
      ARCO_TASKS_SERVICE_ACCOUNT     = google_service_account.tasks.email
      # Clients, workers' callbacks and retry timers go through the gateway; hints go straight to the
      # compaction function (internal: only the tasks identity may invoke it).
      ARCO_PUBLIC_BASE_URL     = local.gateway_url
      ARCO_COMPACTOR_URL       = "${local.function_urls["compaction"]}/compactor"
      ARCO_PUBLISH_INTERVAL_MS = "1000"
      # Cloud Tasks' OIDC audience is the origin of the URL it calls: the gateway (timers, callbacks)
      # or the function itself (hints). Clients mint tokens for the gateway URL.
      ARCO_OIDC_AUDIENCE = join(",", [local.gateway_url, local.function_urls[each.key]])
    }
    dynamic "secret_environment_variables" {
      for_each = each.value.task_token ? [1] : []
      content {
        key        = "ARCO_TASK_TOKEN_SECRET"
        project_id = var.project
        secret     = google_secret_manager_secret.task_token.secret_id
        version    = "latest"
      }
    }
  }

  # The automation function is a CloudEvent function: Cloud Scheduler publishes one tick per workspace
  # to the topic (messaging.tf), Eventarc pushes it as the pusher identity, and a failed tick is retried.
  dynamic "event_trigger" {
    for_each = each.value.trigger == "pubsub" ? [1] : []
    content {
      trigger_region        = var.region
      event_type            = "google.cloud.pubsub.topic.v1.messagePublished"
      pubsub_topic          = google_pubsub_topic.automation_ticks.id
      retry_policy          = "RETRY_POLICY_RETRY"
      service_account_email = google_service_account.pusher.email
    }
  }

  depends_on = [
    google_project_service.required,
    google_secret_manager_secret_iam_member.task_token,
  ]
}

output "function_urls" {
  value = { for name, fn in google_cloudfunctions2_function.function : name => fn.service_config[0].uri }
}

output "api_url" {
  value = google_cloudfunctions2_function.function["api"].service_config[0].uri
}

output "compactor_url" {
  value = google_cloudfunctions2_function.function["compaction"].service_config[0].uri
}
