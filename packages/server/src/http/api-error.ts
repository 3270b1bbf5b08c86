import { DagError, redact, SelectionError } from '@dag/core';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** An error with an HTTP status, thrown by route handlers: unknown run (404), finished run (409)... */
export class ApiError extends Error {
  readonly status: ContentfulStatusCode;
  constructor(status: ContentfulStatusCode, name: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.status = status;
    this.name = name;
  }
}

export function notFound(message: string): ApiError {
  return new ApiError(404, 'NotFound', message);
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}

export interface ErrorBody {
  error: { name: string; message: string; position?: number };
}

/** The status and JSON body for any thrown value. DagErrors of the user's making are 400s. */
export function errorResponse(error: unknown): { status: ContentfulStatusCode; body: ErrorBody } {
  if (error instanceof ApiError) {
    return { status: error.status, body: { error: { name: error.name, message: redact(error.message) } } };
  }
  if (error instanceof DagError) {
    const clientError = ['definition', 'selection', 'config', 'usage'].includes(error.kind);
    const body: ErrorBody = { error: { name: error.name, message: redact(error.message) } };
    if (error instanceof SelectionError && error.position !== undefined) body.error.position = error.position;
    return { status: clientError ? 400 : 500, body };
  }
  const name = error instanceof Error ? error.name : 'Error';
  const message = error instanceof Error ? error.message : String(error);
  return { status: 500, body: { error: { name, message: redact(message) } } };
}
