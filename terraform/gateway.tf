# The public entry point: one API Gateway in front of the HTTP functions, configured from the OpenAPI
# 2.0 document functions/openapi.json. Each operation's `x-google-backend` names its function as
# `${<function>_url}` (dashes as underscores) with `disable_auth: true`: the gateway passes the caller's
# Authorization header through unchanged and the function verifies it (docs/deployment-security.md).
# Path items marked `x-arco-local-only` exist only on the local stack and are dropped here.
locals {
  openapi_source = jsondecode(templatefile("${path.module}/../functions/openapi.json", {
    for name, url in local.function_urls : "${replace(name, "-", "_")}_url" => url
  }))
  openapi_document = merge(local.openapi_source, {
    paths = { for path, item in local.openapi_source.paths : path => item if !try(item["x-arco-local-only"], false) }
  })
  openapi_contents = jsonencode(local.openapi_document)

  gateway_url = "https://${google_api_gateway_gateway.arco.default_hostname}"
}

resource "google_api_gateway_api" "arco" {
  provider   = google-beta
  api_id     = "arco"
  depends_on = [google_project_service.required]
}

# A config is immutable: a new document is a new config (its id carries the document's hash), created
# before the gateway moves to it and the old one is deleted.
resource "google_api_gateway_api_config" "arco" {
  provider      = google-beta
  api           = google_api_gateway_api.arco.api_id
  api_config_id = "arco-${substr(sha256(local.openapi_contents), 0, 16)}"

  openapi_documents {
    document {
      path     = "openapi.json"
      contents = base64encode(jsonencode(local.openapi_document))
    }
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "google_api_gateway_gateway" "arco" {
  provider   = google-beta
  region     = var.region
  gateway_id = "arco"
  api_config = google_api_gateway_api_config.arco.id
}

output "gateway_url" {
  value = local.gateway_url
}
