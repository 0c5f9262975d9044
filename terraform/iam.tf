# One service account per function, plus the identities that call internal endpoints.
resource "google_service_account" "function" {
  for_each     = local.functions
  account_id   = "arco-${each.key}"
  display_name = "Arco ${each.key} function"
}

# Cloud Tasks and Cloud Scheduler present this identity to workers and internal endpoints.
resource "google_service_account" "tasks" {
  account_id   = "arco-tasks"
  display_name = "Arco Cloud Tasks and Scheduler caller"
}

# Pub/Sub pushes append hints to the compactor as this identity.
resource "google_service_account" "pusher" {
  account_id   = "arco-pusher"
  display_name = "Arco Pub/Sub push caller"
}

locals {
  internal_callers = [google_service_account.tasks.email, google_service_account.pusher.email]
}

resource "google_project_iam_member" "firestore" {
  for_each = local.functions
  project  = var.project
  role     = "roles/datastore.user"
  member   = "serviceAccount:${google_service_account.function[each.key].email}"
}

resource "google_storage_bucket_iam_member" "data" {
  for_each = local.functions
  bucket   = google_storage_bucket.data.name
  role     = "roles/storage.objectAdmin"
  member   = "serviceAccount:${google_service_account.function[each.key].email}"
}

# The api (timers, callbacks) and the compactor (dispatch controller) create Cloud Tasks that run as
# the tasks identity.
resource "google_project_iam_member" "enqueuer" {
  for_each = toset(["api", "compactor"])
  project  = var.project
  role     = "roles/cloudtasks.enqueuer"
  member   = "serviceAccount:${google_service_account.function[each.key].email}"
}

resource "google_service_account_iam_member" "act_as_tasks" {
  for_each           = toset(["api", "compactor"])
  service_account_id = google_service_account.tasks.name
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${google_service_account.function[each.key].email}"
}

resource "google_secret_manager_secret_iam_member" "task_token" {
  for_each  = toset(["api", "compactor"])
  secret_id = google_secret_manager_secret.task_token.id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.function[each.key].email}"
}

# Invokers: the API is public (it verifies Google ID tokens itself); internal functions accept only
# their callers.
resource "google_cloud_run_service_iam_member" "api_public" {
  location = var.region
  service  = google_cloudfunctions2_function.function["api"].service_config[0].service
  role     = "roles/run.invoker"
  member   = "allUsers"
}

resource "google_cloud_run_service_iam_member" "compactor_pusher" {
  location = var.region
  service  = google_cloudfunctions2_function.function["compactor"].service_config[0].service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.pusher.email}"
}

resource "google_cloud_run_service_iam_member" "worker_tasks" {
  location = var.region
  service  = google_cloudfunctions2_function.function["worker"].service_config[0].service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.tasks.email}"
}
