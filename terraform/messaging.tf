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

# The automation tick of every bootstrapped workspace (the local stack's autotick): Cloud Scheduler
# publishes `{"tenant":…,"workspace":…}` to the ticks topic, whose Eventarc trigger runs the automation
# function (functions.tf).
resource "google_pubsub_topic" "automation_ticks" {
  name = "arco-automation-ticks"
}

resource "google_cloud_scheduler_job" "automation_tick" {
  for_each  = { for w in var.workspaces : "${w.tenant}--${w.workspace}" => w }
  name      = "arco-tick-${each.key}"
  schedule  = "* * * * *"
  time_zone = "Etc/UTC"

  pubsub_target {
    topic_name = google_pubsub_topic.automation_ticks.id
    data       = base64encode(jsonencode({ tenant = each.value.tenant, workspace = each.value.workspace }))
  }

  depends_on = [google_project_service.required]
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

# Push sensors' messages (attributes tenant, workspace, sensor) go straight to the api function (not
# through the gateway), which checks the pusher identity and deduplicates them by message id; a
# message that keeps failing ends in the dead-letter topic.
resource "google_pubsub_subscription" "sensor_events_api" {
  name                 = "arco-sensor-events-api"
  topic                = google_pubsub_topic.sensor_events.id
  ack_deadline_seconds = 60

  push_config {
    push_endpoint = "${google_cloudfunctions2_function.function["api"].service_config[0].uri}/internal/sensors/pubsub"
    oidc_token {
      service_account_email = google_service_account.pusher.email
      # One of the api's ARCO_OIDC_AUDIENCE values (the default would be the endpoint with its path).
      audience = local.function_urls["api"]
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
