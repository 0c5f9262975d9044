/**
 * An error the API answers with. The body's shape depends on the API family (spec README decision 3);
 * `code` overrides the family's default code for the status, `details.reason` is a stable sub-code.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details?: Record<string, unknown>,
    readonly code?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const badRequest = (message: string, details?: Record<string, unknown>) =>
  new ApiError(400, message, details);
export const unauthorized = (message: string) => new ApiError(401, message);
export const forbidden = (message: string) => new ApiError(403, message);
export const notFound = (message: string, details?: Record<string, unknown>) =>
  new ApiError(404, message, details);
export const conflict = (message: string, details?: Record<string, unknown>) =>
  new ApiError(409, message, details);
