variable "project" {
  description = "The GCP project to deploy Arco Serverless into."
  type        = string
}

variable "region" {
  description = "Region of the functions, queues and bucket."
  type        = string
  default     = "us-central1"
}
