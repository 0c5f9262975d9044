# Ledger, projections, manifests, Delta logs and staged commits, every object under tenant=/workspace=.
resource "google_storage_bucket" "data" {
  name                        = "${var.project}-arco"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"

  dynamic "lifecycle_rule" {
    for_each = length(var.workspaces) > 0 ? [1] : []
    content {
      condition {
        age            = var.staging_retention_days
        matches_prefix = [for w in var.workspaces : "tenant=${w.tenant}/workspace=${w.workspace}/delta/staging/"]
      }
      action {
        type = "Delete"
      }
    }
  }
}

# Function sources, uploaded by this configuration.
resource "google_storage_bucket" "sources" {
  name                        = "${var.project}-arco-sources"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"

  lifecycle_rule {
    condition {
      age = 30
    }
    action {
      type = "Delete"
    }
  }
}
