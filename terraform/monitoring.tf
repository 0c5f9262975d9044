# Log-based metrics and alerts for the signals the code emits (test/orchestration/
# operationalSignals.test.ts and test/registry/registryApi.test.ts pin the log fields). Locally the
# same names are Prometheus metrics at /metrics.

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

resource "google_monitoring_notification_channel" "email" {
  count        = var.alert_email == "" ? 0 : 1
  display_name = "Arco alerts"
  type         = "email"
  labels = {
    email_address = var.alert_email
  }
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

# Counters of log lines (a filter each).
locals {
  log_counters = {
    api_server_errors_total           = "jsonPayload.message=\"request\" AND jsonPayload.httpRequest.status>=500"
    orchestration_task_failures_total = "jsonPayload.message=\"task completed\" AND jsonPayload.outcome=\"FAILED\""
    automation_ticks_total            = "jsonPayload.message=\"automation tick\""
  }

  # Threshold alerts. Where the runbooks give no number the threshold is our stated choice:
  # API p95 above 1 s for 5 min; more than 10 5xx in 5 min; projections more than a minute behind at
  # p95 for 5 min (the controllers' freshness budget is 5 min); more than 20 failed attempts in 15 min
  # (a count, until a ratio lands). Registry (runbook 002, targets of contract-registry.md §11.4–11.5):
  # any breaking version on `activation`, more than 5 an hour on another layer; more than 10 current
  # flips per dataset and layer in an hour; diff p95 above 100 ms, store time p95 above 150 ms and
  # registry API p95 above 250 ms, each for 10 min.
  threshold_alerts = {
    api_latency_p95      = { title = "Arco API p95 latency above 1 s", metric = "api_request_duration_ms", extra = "", group_by = [], threshold = 1000, duration = "300s", period = "60s", aligner = "ALIGN_PERCENTILE_95" }
    api_errors           = { title = "Arco API server errors", metric = "api_server_errors_total", extra = "", group_by = [], threshold = 10, duration = "0s", period = "300s", aligner = "ALIGN_SUM" }
    compaction_lag       = { title = "Arco compaction lag p95 above 60 s", metric = "orchestration_compaction_lag_ms", extra = "", group_by = [], threshold = 60000, duration = "300s", period = "60s", aligner = "ALIGN_PERCENTILE_95" }
    task_failures        = { title = "Arco task failures", metric = "orchestration_task_failures_total", extra = "", group_by = [], threshold = 20, duration = "0s", period = "900s", aligner = "ALIGN_SUM" }
    breaking_activation  = { title = "DCR breaking change on the activation layer", metric = "dcr_breaking_changes_total", extra = " AND metric.label.layer=\"activation\"", group_by = ["metric.label.dataset_id"], threshold = 0, duration = "0s", period = "300s", aligner = "ALIGN_SUM" }
    breaking_other       = { title = "DCR breaking changes above 5 an hour", metric = "dcr_breaking_changes_total", extra = " AND metric.label.layer!=\"activation\"", group_by = ["metric.label.layer"], threshold = 5, duration = "0s", period = "3600s", aligner = "ALIGN_SUM" }
    current_flip_anomaly = { title = "DCR current flips spiking", metric = "dcr_current_set_total", extra = "", group_by = ["metric.label.dataset_id", "metric.label.layer"], threshold = 10, duration = "0s", period = "3600s", aligner = "ALIGN_SUM" }
    diff_slow            = { title = "DCR diff p95 above 100 ms", metric = "dcr_diff_latency_ms", extra = "", group_by = [], threshold = 100, duration = "600s", period = "60s", aligner = "ALIGN_PERCENTILE_95" }
    store_degradation    = { title = "DCR store time p95 above 150 ms", metric = "registry_store_latency_ms", extra = "", group_by = [], threshold = 150, duration = "600s", period = "60s", aligner = "ALIGN_PERCENTILE_95" }
    store_errors         = { title = "DCR store errors", metric = "registry_store_errors_total", extra = "", group_by = [], threshold = 0, duration = "0s", period = "300s", aligner = "ALIGN_SUM" }
    registry_read_p95    = { title = "DCR read API p95 above 250 ms", metric = "api_request_duration_ms", extra = " AND metric.label.route=starts_with(\"/data-contract-registry\")", group_by = [], threshold = 250, duration = "600s", period = "60s", aligner = "ALIGN_PERCENTILE_95" }
  }

  # The registry's log-based metrics, from its `dcr.*` lines (contract-registry.md §11.1–11.2).
  # `registry_store_latency_ms` is the store time of a request here (the process metric has one sample
  # per call with an `operation` label); counters keep the labels the alerts group by.
  registry_counters = {
    dcr_breaking_changes_total  = { filter = "jsonPayload.event=\"dcr.breaking.detected\"", labels = ["layer", "dataset_id"] }
    dcr_current_set_total       = { filter = "jsonPayload.event=\"dcr.current.set\"", labels = ["layer", "dataset_id"] }
    dcr_schema_ingests_total    = { filter = "jsonPayload.event=\"dcr.request.completed\" AND jsonPayload.method=\"POST\" AND jsonPayload.route=~\"/schemas$\" AND (jsonPayload.status<300 OR jsonPayload.status=400 OR jsonPayload.status=404 OR jsonPayload.status=409)", labels = ["status"] }
    registry_store_errors_total = { filter = "jsonPayload.event=\"dcr.request.completed\" AND jsonPayload.store_errors>0", labels = [] }
  }
  registry_distributions = {
    dcr_diff_latency_ms       = { filter = "jsonPayload.event=\"dcr.request.completed\" AND jsonPayload.diff_ms>=0", field = "diff_ms" }
    registry_store_latency_ms = { filter = "jsonPayload.event=\"dcr.request.completed\" AND jsonPayload.store_calls>0", field = "store_ms" }
  }
}

resource "google_logging_metric" "registry_counter" {
  for_each = local.registry_counters
  name     = each.key
  filter   = each.value.filter
  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    dynamic "labels" {
      for_each = each.value.labels
      content {
        key        = labels.value
        value_type = "STRING"
      }
    }
  }
  label_extractors = { for label in each.value.labels : label => "EXTRACT(jsonPayload.${label})" }
}

resource "google_logging_metric" "registry_distribution" {
  for_each = local.registry_distributions
  name     = each.key
  filter   = each.value.filter
  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "DISTRIBUTION"
    unit        = "ms"
  }
  value_extractor = "EXTRACT(jsonPayload.${each.value.field})"
  bucket_options {
    explicit_buckets {
      bounds = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000]
    }
  }
}

# Ingest error rate: invalid + conflict above 20 % of ingests over 15 min (runbook 002).
resource "google_monitoring_alert_policy" "ingest_error_rate" {
  display_name = "DCR ingest error rate above 20 %"
  combiner     = "OR"
  conditions {
    display_name = "invalid or conflict ingests / all ingests > 0.2"
    condition_threshold {
      filter             = "metric.type=\"logging.googleapis.com/user/dcr_schema_ingests_total\" AND resource.type=\"cloud_run_revision\" AND metric.label.status=one_of(\"400\", \"404\", \"409\")"
      denominator_filter = "metric.type=\"logging.googleapis.com/user/dcr_schema_ingests_total\" AND resource.type=\"cloud_run_revision\""
      comparison         = "COMPARISON_GT"
      threshold_value    = 0.2
      duration           = "0s"
      aggregations {
        alignment_period     = "900s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
      denominator_aggregations {
        alignment_period     = "900s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }
  notification_channels = google_monitoring_notification_channel.email[*].id
  depends_on            = [google_logging_metric.registry_counter]
}

resource "google_logging_metric" "counter" {
  for_each = local.log_counters
  name     = each.key
  filter   = each.value
  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
  }
}

resource "google_monitoring_alert_policy" "threshold" {
  for_each     = local.threshold_alerts
  display_name = each.value.title
  combiner     = "OR"
  conditions {
    display_name = "${each.value.metric} above ${each.value.threshold}"
    condition_threshold {
      filter          = "metric.type=\"logging.googleapis.com/user/${each.value.metric}\" AND resource.type=\"cloud_run_revision\"${each.value.extra}"
      comparison      = "COMPARISON_GT"
      threshold_value = each.value.threshold
      duration        = each.value.duration
      aggregations {
        alignment_period     = each.value.period
        per_series_aligner   = each.value.aligner
        cross_series_reducer = length(each.value.group_by) > 0 ? "REDUCE_SUM" : null
        group_by_fields      = each.value.group_by
      }
    }
  }
  notification_channels = google_monitoring_notification_channel.email[*].id
  depends_on            = [google_logging_metric.counter, google_logging_metric.api_request_duration_ms, google_logging_metric.compaction_lag_ms, google_logging_metric.registry_counter, google_logging_metric.registry_distribution]
}
