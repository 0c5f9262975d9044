# Log-based metrics and alerts for the signals the code emits today. The registry's alerts
# (dcr_*, registry_store_*) and the task-failure and scheduler alerts land with those parts.

resource "google_logging_metric" "api_request_duration_ms" {
  name   = "api_request_duration_ms"
  filter = "jsonPayload.message=\"request\" AND jsonPayload.latency_ms>=0"
  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "DISTRIBUTION"
    unit        = "ms"
    labels {
      key        = "route"
      value_type = "STRING"
    }
  }
  value_extractor = "EXTRACT(jsonPayload.latency_ms)"
  label_extractors = {
    route = "EXTRACT(jsonPayload.route)"
  }
  bucket_options {
    exponential_buckets {
      num_finite_buckets = 20
      growth_factor      = 2
      scale              = 1
    }
  }
}

resource "google_logging_metric" "api_server_errors" {
  name   = "api_server_errors_total"
  filter = "jsonPayload.message=\"request\" AND jsonPayload.httpRequest.status>=500"
  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
  }
}

resource "google_monitoring_notification_channel" "email" {
  count        = var.alert_email == "" ? 0 : 1
  display_name = "Arco alerts"
  type         = "email"
  labels = {
    email_address = var.alert_email
  }
}

# Runbook 002 names the read latency breach without a number; our choice: p95 above 1 s for 5 minutes.
resource "google_monitoring_alert_policy" "api_latency_p95" {
  display_name = "Arco API p95 latency above 1 s"
  combiner     = "OR"
  conditions {
    display_name = "api_request_duration_ms p95 > 1000"
    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/api_request_duration_ms\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = 1000
      duration        = "300s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_PERCENTILE_95"
      }
    }
  }
  notification_channels = google_monitoring_notification_channel.email[*].id
}

resource "google_monitoring_alert_policy" "api_errors" {
  display_name = "Arco API server errors"
  combiner     = "OR"
  conditions {
    display_name = "more than 10 5xx answers in 5 minutes"
    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/api_server_errors_total\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = 10
      duration        = "0s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_SUM"
      }
    }
  }
  notification_channels = google_monitoring_notification_channel.email[*].id
}
