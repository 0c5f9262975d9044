# Log-based metrics and alerts for the signals the code emits today (test/orchestration/
# operationalSignals.test.ts pins the log fields). The registry's alerts (dcr_*, registry_store_*) land
# with the registry.

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

resource "google_logging_metric" "compaction_lag_ms" {
  name   = "orchestration_compaction_lag_ms"
  filter = "jsonPayload.message=\"compaction published\""
  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "DISTRIBUTION"
    unit        = "ms"
  }
  value_extractor = "EXTRACT(jsonPayload.lag_ms)"
  bucket_options {
    exponential_buckets {
      num_finite_buckets = 24
      growth_factor      = 2
      scale              = 1
    }
  }
}

resource "google_logging_metric" "task_failures" {
  name   = "orchestration_task_failures_total"
  filter = "jsonPayload.message=\"task completed\" AND jsonPayload.outcome=\"FAILED\""
  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
  }
}

resource "google_logging_metric" "automation_ticks" {
  name   = "automation_ticks_total"
  filter = "jsonPayload.message=\"automation tick\""
  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
  }
}

# Our choice (no runbook number): projections more than a minute behind at p95 for 5 minutes. The
# controllers' freshness budget is 5 minutes; this warns well before they stop acting.
resource "google_monitoring_alert_policy" "compaction_lag" {
  display_name = "Arco compaction lag p95 above 60 s"
  combiner     = "OR"
  conditions {
    display_name = "orchestration_compaction_lag_ms p95 > 60000"
    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/orchestration_compaction_lag_ms\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = 60000
      duration        = "300s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_PERCENTILE_95"
      }
    }
  }
  notification_channels = google_monitoring_notification_channel.email[*].id
}

# Our choice: more than 20 failed task attempts in 15 minutes (a count, until the UI's ratio lands).
resource "google_monitoring_alert_policy" "task_failures" {
  display_name = "Arco task failures"
  combiner     = "OR"
  conditions {
    display_name = "more than 20 failed attempts in 15 minutes"
    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/orchestration_task_failures_total\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = 20
      duration        = "0s"
      aggregations {
        alignment_period   = "900s"
        per_series_aligner = "ALIGN_SUM"
      }
    }
  }
  notification_channels = google_monitoring_notification_channel.email[*].id
}

# The scheduler ticks every minute; ten minutes without a tick means automation stopped.
resource "google_monitoring_alert_policy" "scheduler_not_progressing" {
  display_name = "Arco automation ticks stopped"
  combiner     = "OR"
  conditions {
    display_name = "no automation tick for 10 minutes"
    condition_absent {
      filter   = "metric.type=\"logging.googleapis.com/user/automation_ticks_total\" AND resource.type=\"cloud_run_revision\""
      duration = "600s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_SUM"
      }
    }
  }
  notification_channels = google_monitoring_notification_channel.email[*].id
}
