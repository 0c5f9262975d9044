# Retry settings match local/bootstrap.ts, which creates the same queues on the local stack.
resource "google_cloud_tasks_queue" "queue" {
  for_each = toset(["arco-dispatch", "arco-timers", "arco-compaction-hints"])
  name     = each.value
  location = var.region

  retry_config {
    max_attempts  = 100
    min_backoff   = "1s"
    max_backoff   = "60s"
    max_doublings = 5
  }
}

# The automation tick of every bootstrapped workspace (the local stack's autotick).
resource "google_cloud_scheduler_job" "automation_tick" {
  for_each  = { for w in var.workspaces : "${w.tenant}--${w.workspace}" => w }
  name      = "arco-tick-${each.key}"
  schedule  = "* * * * *"
  time_zone = "Etc/UTC"

  http_target {
    http_method = "POST"
    uri         = "${google_cloudfunctions2_function.function["api"].service_config[0].uri}/internal/automation/tick"
    body        = base64encode("{}")
    headers = {
      "Content-Type"   = "application/json"
      "X-Tenant-Id"    = each.value.tenant
      "X-Workspace-Id" = each.value.workspace
    }
    oidc_token {
      service_account_email = google_service_account.tasks.email
      audience              = google_cloudfunctions2_function.function["api"].service_config[0].uri
    }
  }
}

resource "google_secret_manager_secret" "task_token" {
  secret_id = "arco-task-token-secret"
  replication {
    auto {}
  }
}

resource "google_pubsub_topic" "sensor_events" {
  name = "arco-sensor-events"
}

resource "google_pubsub_topic" "sensor_events_dead_letter" {
  name = "arco-sensor-events-dead-letter"
}

# Push sensors' messages (attributes tenant, workspace, sensor) go to the api function, which
# deduplicates them by message id; a message that keeps failing ends in the dead-letter topic.
resource "google_pubsub_subscription" "sensor_events_api" {
  name                 = "arco-sensor-events-api"
  topic                = google_pubsub_topic.sensor_events.id
  ack_deadline_seconds = 60

  push_config {
    push_endpoint = "${google_cloudfunctions2_function.function["api"].service_config[0].uri}/internal/sensors/pubsub"
    oidc_token {
      service_account_email = google_service_account.pusher.email
    }
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.sensor_events_dead_letter.id
    max_delivery_attempts = 10
  }

  retry_policy {
    minimum_backoff = "1s"
    maximum_backoff = "60s"
  }
}
