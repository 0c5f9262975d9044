# Run-key reservations, idempotency records, leases, pending append batches, the principal directory
# and the registry. Every query the code makes orders by one field, which Firestore indexes
# automatically (the registry's composite indexes are below).
resource "google_firestore_database" "default" {
  name        = "(default)"
  location_id = var.firestore_location
  type        = "FIRESTORE_NATIVE"
  depends_on  = [google_project_service.required]
}

# The Delta coordinator state (tables, location claims, commit coordination), in a database of its
# own so that IAM can give it to delta-commit alone (ARCO_DELTA_DATABASE; iam.tf).
resource "google_firestore_database" "delta" {
  name        = "arco-delta"
  location_id = var.firestore_location
  type        = "FIRESTORE_NATIVE"
  depends_on  = [google_project_service.required]
}

# The principal directory: which workspace and roles a Google identity has.
resource "google_firestore_document" "principal" {
  for_each    = var.principals
  database    = google_firestore_database.default.name
  collection  = "arco_principals"
  document_id = each.key
  fields = jsonencode({
    tenant    = { stringValue = each.value.tenant }
    workspace = { stringValue = each.value.workspace }
    roles     = { arrayValue = { values = [for r in each.value.roles : { stringValue = r }] } }
  })
}

# The composite indexes the registry's list queries need (equality filters plus a sort), read from the
# same file the Firebase emulator config names, so there is one list.
locals {
  firestore_indexes = jsondecode(file("${path.module}/../emulator-config/firestore.indexes.json"))
}

resource "google_firestore_index" "composite" {
  for_each    = { for i in local.firestore_indexes.indexes : "${i.collectionGroup}:${join(",", [for f in i.fields : f.fieldPath])}" => i }
  database    = google_firestore_database.default.name
  collection  = each.value.collectionGroup
  query_scope = each.value.queryScope
  dynamic "fields" {
    for_each = each.value.fields
    content {
      field_path = fields.value.fieldPath
      order      = fields.value.order
    }
  }
}

# `dcr_subscriptions_total` counts subscriptions of a layer across workspaces: a collection-group query.
resource "google_firestore_field" "override" {
  for_each   = { for o in local.firestore_indexes.fieldOverrides : "${o.collectionGroup}:${o.fieldPath}" => o }
  database   = google_firestore_database.default.name
  collection = each.value.collectionGroup
  field      = each.value.fieldPath
  index_config {
    dynamic "indexes" {
      for_each = each.value.indexes
      content {
        order       = indexes.value.order
        query_scope = indexes.value.queryScope
      }
    }
  }
}
