variable "project" {
  description = "The GCP project to deploy Arco Serverless into."
  type        = string
}

variable "region" {
  description = "Region of the functions, queues, scheduler jobs and bucket."
  type        = string
  default     = "us-central1"
}

variable "firestore_location" {
  description = "Location of the Firestore database (a multi-region such as nam5, or a region)."
  type        = string
  default     = "nam5"
}

variable "workspaces" {
  description = "Workspaces to bootstrap: each gets an automation tick and a staging lifecycle rule."
  type        = list(object({ tenant = string, workspace = string }))
  default     = []
}

variable "principals" {
  description = "Identities (Google account or service account emails) mapped to a workspace and roles."
  type        = map(object({ tenant = string, workspace = string, roles = list(string) }))
  default     = {}
}

variable "staging_retention_days" {
  description = "Days staged Delta payloads are kept; exact replays are answered from markers without them."
  type        = number
  default     = 30
}

variable "alert_email" {
  description = "Where alert notifications go; no notification channel when empty."
  type        = string
  default     = ""
}

variable "rebuild_operators" {
  description = "Members (e.g. group:arco-operators@example.com) allowed to invoke the rebuild function besides the tasks identity; the function still requires an internal caller identity."
  type        = list(string)
  default     = []
}
