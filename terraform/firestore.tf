# Run-key reservations, idempotency records, Delta coordinator state, leases, pending append batches.
# Every query the code makes orders by one field, which Firestore indexes automatically.
resource "google_firestore_database" "default" {
  name        = "(default)"
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
