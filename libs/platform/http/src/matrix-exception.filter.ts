import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { MatrixError } from '@axon/matrix-errors';
import type { Logger } from '@axon/platform-telemetry';
import type { RouteTable } from './route-table';

/**
 * The HTTP edge of the error mapping: every failure leaves as a Matrix error body
 * (`{errcode, error}`) with its status. Unknown endpoints are `M_UNRECOGNIZED` 404
 * (spec: "Common error codes"); bodies that do not parse are `M_NOT_JSON`; anything
 * unexpected is logged with its stack and answered `M_UNKNOWN` 500 without details.
 */
@Catch()
export class MatrixExceptionFilter implements ExceptionFilter {
  constructor(
    private readonly logger: Logger,
    private readonly routes: RouteTable,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const request = http.getRequest<FastifyRequest>();
    const error = this.toMatrixError(exception, request);
    const retryAfter = retryAfterSeconds(error);
    if (retryAfter !== undefined) void reply.header('retry-after', String(retryAfter));
    void reply.status(error.status).header('content-type', 'application/json').send(error.toBody());
  }

  private toMatrixError(exception: unknown, request: FastifyRequest): MatrixError {
    if (exception instanceof MatrixError) return exception;
    // Fastify's own errors (body parsing, limits) first: Nest may wrap them in an
    // HttpException whose status alone would hide what went wrong.
    const framework = frameworkError(exception);
    if (framework) return framework;
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      if (status === 404) {
        // Spec: 405 when the endpoint exists but not with this method, 404 otherwise.
        const path = request.url.split('?')[0] ?? request.url;
        return this.routes.hasOtherMethod(path, request.method)
          ? new MatrixError('M_UNRECOGNIZED', 'Unrecognized request', 405)
          : new MatrixError('M_UNRECOGNIZED', 'Unrecognized request', 404);
      }
      if (status === 405) return new MatrixError('M_UNRECOGNIZED', 'Unrecognized request', 405);
      if (status === 413) return new MatrixError('M_TOO_LARGE', 'Request body too large', 413);
      if (status < 500) return new MatrixError('M_UNKNOWN', exception.message, status);
    }
    this.logger.error({ err: exception, method: request.method, url: request.routeOptions?.url }, 'unhandled error');
    return new MatrixError('M_UNKNOWN', 'Internal server error', 500);
  }
}

/**
 * The `Retry-After` header of a 429, in whole seconds rounded up from the error's
 * `retry_after_ms`: "Homeservers SHOULD include a Retry-After header for any response with
 * a 429 status code" (spec: "Rate limiting"; `retry_after_ms` is deprecated for it).
 */
export function retryAfterSeconds(error: MatrixError): number | undefined {
  const ms = error.extras['retry_after_ms'];
  if (error.status !== 429 || typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) return undefined;
  return Math.ceil(ms / 1000);
}

interface FastifyLikeError {
  statusCode?: number;
  code?: string;
}

/** Maps Fastify's errors (also when Nest wrapped them as the `cause`) to Matrix errors. */
export function frameworkError(exception: unknown): MatrixError | undefined {
  const candidates = [exception, (exception as { cause?: unknown } | null)?.cause];
  for (const candidate of candidates) {
    const err = candidate as FastifyLikeError | null | undefined;
    const code = typeof err?.code === 'string' ? err.code : '';
    if (!code.startsWith('FST_')) continue;
    if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new MatrixError('M_TOO_LARGE', 'Request body too large', 413);
    if (code === 'FST_ERR_CTP_INVALID_JSON_BODY' || code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return new MatrixError('M_NOT_JSON', 'Content not JSON.', 400);
    }
    if (code === 'FST_ERR_BAD_URL') return new MatrixError('M_UNRECOGNIZED', 'Malformed request URL', 400);
    if (err?.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
      return new MatrixError('M_UNRECOGNIZED', 'Malformed request', err.statusCode);
    }
  }
  return undefined;
}
