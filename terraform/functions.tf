locals {
  # One entry per folder of functions/ (test/terraform checks that they match).
  functions = {
    api = { memory = "512Mi", timeout = 60, max_instances = 20 }
    # One instance takes every hint, so each workspace has one warm scheduler; it serves many at once.
    compactor = { memory = "1Gi", timeout = 300, max_instances = 1 }
    worker    = { memory = "512Mi", timeout = 600, max_instances = 20 }
  }
}

data "archive_file" "source" {
  type        = "zip"
  source_dir  = "${path.module}/.."
  output_path = "${path.module}/.build/source.zip"
  excludes    = ["node_modules", ".arco", ".git", "test-output", "terraform", "test", "bench", "docs"]
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
      ARCO_LOCATION                  = var.region
      ARCO_INTERNAL_SERVICE_ACCOUNTS = join(",", local.internal_callers)
      ARCO_TASKS_SERVICE_ACCOUNT     = google_service_account.tasks.email
      ARCO_PUBLIC_BASE_URL           = "https://${var.region}-${var.project}.cloudfunctions.net/arco-api"
      ARCO_COMPACTOR_URL             = "https://${var.region}-${var.project}.cloudfunctions.net/arco-compactor"
      ARCO_PUBLISH_INTERVAL_MS       = "1000"
      ARCO_OIDC_AUDIENCE             = "https://${var.region}-${var.project}.cloudfunctions.net/arco-${each.key}"
    }
    secret_environment_variables {
      key        = "ARCO_TASK_TOKEN_SECRET"
      project_id = var.project
      secret     = google_secret_manager_secret.task_token.secret_id
      version    = "latest"
    }
  }

  depends_on = [google_project_service.required]
}

output "api_url" {
  value = google_cloudfunctions2_function.function["api"].service_config[0].uri
}

output "compactor_url" {
  value = google_cloudfunctions2_function.function["compactor"].service_config[0].uri
}
