import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { JsonValue } from '@axon/matrix-canonical-json';
import { err, ok, type Result } from '@axon/matrix-errors';
import { MatrixError } from '@axon/matrix-errors';
import type { ServerName } from '@axon/matrix-identifiers';
import { parseXMatrixHeader, verifyXMatrixRequest, type Ed25519Backend, type XMatrixAuthorization } from '@axon/matrix-signing';
import type { Logger } from '@axon/platform-telemetry';
import { InjectLogger } from '@axon/platform-runtime';
import { FEDERATION_RECEIVER_METRICS, type AuthRefusal, type FederationReceiverMetrics } from '../federation-receiver.metrics';
import { KeyRing } from '../keys/key-ring';
import { OwnServerKeys } from '../keys/own-server-keys';
import { attachOrigin } from './origin';

/** A federation request as received: what its signature covers, and its `Authorization` headers. */
export interface ReceivedRequest {
  readonly method: string;
  /** Path and query exactly as received. */
  readonly uri: string;
  /** The parsed JSON body; absent without one. */
  readonly content?: JsonValue;
  readonly authorization: readonly string[];
}

export interface RequestAuthenticator {
  readonly serverName: string;
  readonly backend: Ed25519Backend;
  readonly keyRing: Pick<KeyRing, 'verifyKeyForRequest'>;
}

const X_MATRIX = /^x-matrix(?:[ \t]|$)/i;

const refuse = (reason: AuthRefusal, message: string): Result<never, { reason: AuthRefusal; message: string }> => err({ reason, message });

/**
 * Authenticates a federation request (Server-Server API "Request Authentication"): every
 * `Authorization: X-Matrix` header must parse, all must name the same origin and
 * destination, the destination (when sent) must be this server, and each signature must
 * verify, with the origin's key valid at `nowTs`, over the method, the URI as received,
 * origin, destination and the body. Headers of other schemes are ignored. Answers the
 * origin, or why not.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#request-authentication
 */
export async function authenticateRequest(
  request: ReceivedRequest,
  authenticator: RequestAuthenticator,
  nowTs: number,
): Promise<Result<ServerName, { reason: AuthRefusal; message: string }>> {
  const headers = request.authorization.filter((value) => X_MATRIX.test(value));
  if (headers.length === 0) return refuse('missing_header', 'Missing Authorization headers');
  const parsed: XMatrixAuthorization[] = [];
  for (const header of headers) {
    const authorization = parseXMatrixHeader(header);
    if (!authorization.ok) return refuse('bad_header', `Malformed X-Matrix Authorization header: ${authorization.error}`);
    parsed.push(authorization.value);
  }
  const [first] = parsed as [XMatrixAuthorization, ...XMatrixAuthorization[]];
  if (parsed.some((a) => a.origin !== first.origin || a.destination !== first.destination)) {
    return refuse('bad_header', 'X-Matrix Authorization headers name different origins or destinations');
  }
  // Before any key look-up: a request for another server never makes this one fetch keys.
  if (first.destination !== undefined && first.destination !== authenticator.serverName) {
    return refuse('wrong_destination', `The request is for ${first.destination}, not ${authenticator.serverName}`);
  }
  for (const authorization of parsed) {
    const key = await authenticator.keyRing.verifyKeyForRequest(authorization.origin, authorization.key, nowTs);
    const verified = verifyXMatrixRequest({
      authorization,
      method: request.method,
      uri: request.uri,
      ...(request.content === undefined ? {} : { content: request.content }),
      serverName: authenticator.serverName,
      verifyKey: key.ok ? ok(key.value.key) : key,
      backend: authenticator.backend,
    });
    if (!verified.ok) {
      const { code, message } = verified.error;
      return refuse(code === 'wrong_destination' ? 'wrong_destination' : code === 'key_not_found' ? 'key_not_found' : 'bad_signature', `Failed to verify the request signature: ${message}`);
    }
  }
  return ok(first.origin);
}

/**
 * Requires a valid `X-Matrix` request signature before anything else runs (401
 * `M_UNAUTHORIZED` otherwise, a missing header too) and makes the origin available to
 * `@Origin()`. The body the signature covers is the one the HTTP layer parsed: `content`
 * is "the JSON-parsed request body", and canonical JSON depends only on the value, which
 * that parser keeps exactly (it refuses numbers it could not hold exactly, and keeps keys
 * such as `__proto__` as data). The Authorization header is never logged.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#request-authentication
 */
@Injectable()
export class XMatrixGuard implements CanActivate {
  private readonly authenticator: RequestAuthenticator;

  constructor(
    keyRing: KeyRing,
    own: OwnServerKeys,
    @Inject(FEDERATION_RECEIVER_METRICS) private readonly metrics: Pick<FederationReceiverMetrics, 'requestsRefused'>,
    @InjectLogger() private readonly logger: Pick<Logger, 'info'>,
  ) {
    this.authenticator = { serverName: own.serverName, backend: own.settings.backend, keyRing };
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const received: ReceivedRequest = {
      method: request.method,
      uri: request.originalUrl,
      ...(request.body === undefined ? {} : { content: request.body as JsonValue }),
      authorization: request.raw.headersDistinct['authorization'] ?? [],
    };
    const origin = await authenticateRequest(received, this.authenticator, Date.now());
    if (!origin.ok) {
      this.metrics.requestsRefused.inc({ reason: origin.error.reason });
      this.logger.info({ route: request.routeOptions.url, reason: origin.error.reason, detail: origin.error.message }, 'federation request refused');
      throw new MatrixError('M_UNAUTHORIZED', origin.error.message, 401);
    }
    attachOrigin(request, origin.value);
    return true;
  }
}
