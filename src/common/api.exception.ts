import { ArgumentsHost, Catch, ExceptionFilter, HttpException } from '@nestjs/common';
import type { Response } from 'express';
import { logger } from './logger';

/** Error codes the API returns; each maps to one HTTP status (Twenty's billing.exception pattern). */
export enum ApiErrorCode {
  NotFound = 'not_found',
  Conflict = 'conflict',
  BadRequest = 'bad_request',
  Unauthorized = 'unauthorized',
  Forbidden = 'forbidden',
  PayloadTooLarge = 'payload_too_large',
  TooManyRequests = 'rate_limited',
  Unavailable = 'unavailable',
}

const STATUS: Record<ApiErrorCode, number> = {
  [ApiErrorCode.NotFound]: 404,
  [ApiErrorCode.Conflict]: 409,
  [ApiErrorCode.BadRequest]: 400,
  [ApiErrorCode.Unauthorized]: 401,
  [ApiErrorCode.Forbidden]: 403,
  [ApiErrorCode.PayloadTooLarge]: 413,
  [ApiErrorCode.TooManyRequests]: 429,
  [ApiErrorCode.Unavailable]: 503,
};

export class ApiException extends Error {
  constructor(readonly code: ApiErrorCode, message: string) {
    super(message);
    this.name = 'ApiException';
  }
}

/** The failure codes domain services use (CorrectionError, ScrubError) as the API's. */
export function domainApiException(code: 'not_found' | 'conflict' | 'bad_request', message: string): ApiException {
  return new ApiException(code === 'not_found' ? ApiErrorCode.NotFound : code === 'conflict' ? ApiErrorCode.Conflict : ApiErrorCode.BadRequest, message);
}

/** The one filter: domain codes → HTTP status with `{error, message}`; no internals leak. */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly log = logger('http');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    if (exception instanceof ApiException) {
      res.status(STATUS[exception.code]).json({ error: exception.code, message: exception.message });
      return;
    }
    if (exception instanceof HttpException) {
      const body: unknown = exception.getResponse();
      const message = typeof body === 'object' && body !== null && 'message' in body ? body.message : exception.message;
      res.status(exception.getStatus()).json({ error: exception.getStatus() === 400 ? ApiErrorCode.BadRequest : 'error', message });
      return;
    }
    // The body parsers' own errors (http-errors: status and type): a body over its limit is the
    // client's mistake, not an internal error.
    const e = exception as { status?: unknown; type?: unknown; limit?: unknown };
    if (typeof e.status === 'number' && e.status >= 400 && e.status < 500 && typeof e.type === 'string') {
      if (e.status === 413) {
        res.status(413).json({ error: ApiErrorCode.PayloadTooLarge, message: `the request body is larger than this route takes${typeof e.limit === 'number' ? ` (${e.limit} bytes)` : ''}` });
      } else {
        res.status(e.status).json({ error: e.status === 400 ? ApiErrorCode.BadRequest : 'error', message: `the request body could not be read (${e.type})` });
      }
      return;
    }
    // The error's name and, for a database error, its SQLSTATE (never its message: it may quote PHI).
    const code = (exception as { code?: unknown } | null)?.code;
    this.log.error({ event: 'unhandled_error', err: exception instanceof Error ? exception.name : 'unknown', code: typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined });
    res.status(500).json({ error: 'internal', message: 'internal error' });
  }
}
