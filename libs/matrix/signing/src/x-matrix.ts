import type { JsonObject, JsonValue } from '@axon/matrix-canonical-json';
import { err, ok, type Result } from '@axon/matrix-errors';
import { parseServerKeyId, parseServerName, type ServerKeyId, type ServerName } from '@axon/matrix-identifiers';
import type { Ed25519Backend } from './ed25519-backend';
import { signJson, verifyJsonSignature, type JsonSignatureError } from './json-signing';
import type { SigningKey } from './signing-key';

/**
 * The parts of a federation request that its signature covers. `uri` is the request
 * target from `/_matrix/...`, query string included; `content` is the parsed JSON body,
 * absent when the request has none. Server names are those before delegation.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#request-authentication
 */
export interface FederationRequest {
  readonly method: string;
  readonly uri: string;
  readonly origin: string;
  readonly destination: string;
  readonly content?: JsonValue;
}

/**
 * Builds the JSON object that a request signature covers (step 1 of request
 * authentication): `method`, `uri`, `origin`, `destination` and, with a body, `content`.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#request-authentication
 */
export function buildRequestJson(request: FederationRequest): JsonObject {
  const json: JsonObject = { method: request.method, uri: request.uri, origin: request.origin, destination: request.destination };
  if (request.content !== undefined) json['content'] = request.content;
  return json;
}

/**
 * Signs a request and returns the `Authorization` header value, written the way the spec
 * asks senders to for compatibility: `X-Matrix origin="…",destination="…",key="…",sig="…"`
 * (one space, lower-case names, no whitespace around commas). Server names and key IDs
 * never contain `"` or `\`, so no escaping is needed.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#request-authentication
 */
export function signXMatrixRequest(request: FederationRequest, options: { readonly key: SigningKey; readonly backend: Ed25519Backend }): string {
  const signed = signJson(buildRequestJson(request), { serverName: request.origin, key: options.key, backend: options.backend });
  const sig = signed.signatures[request.origin]![options.key.keyId]!;
  return `X-Matrix origin="${request.origin}",destination="${request.destination}",key="${options.key.keyId}",sig="${sig}"`;
}

/**
 * The parameters of an `X-Matrix` Authorization header. `destination` is absent when an
 * older server (before v1.3) did not send it.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#request-authentication
 */
export interface XMatrixAuthorization {
  readonly origin: ServerName;
  readonly destination?: ServerName;
  readonly key: ServerKeyId;
  readonly sig: string;
}

const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
// Unquoted values may also contain ':' (the spec's allowance for older senders).
const UNQUOTED_VALUE_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z:]/;

function isQuotedTextChar(code: number): boolean {
  // qdtext: HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text (RFC 9110 §5.6.4)
  return code === 0x09 || code === 0x20 || code === 0x21 || (code >= 0x23 && code <= 0x5b) || (code >= 0x5d && code <= 0x7e) || (code >= 0x80 && code <= 0xff);
}

function isEscapableChar(code: number): boolean {
  // quoted-pair: "\" ( HTAB / SP / VCHAR / obs-text )
  return code === 0x09 || (code >= 0x20 && code <= 0x7e) || (code >= 0x80 && code <= 0xff);
}

function parseAuthParams(text: string): Result<Map<string, string>> {
  const params = new Map<string, string>();
  let i = 0;
  const skipSpace = (): void => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t')) i++;
  };
  while (i < text.length) {
    skipSpace();
    if (text[i] === ',') {
      // RFC 9110 §5.6.1: recipients accept empty list elements.
      i++;
      continue;
    }
    if (i >= text.length) break;
    const nameStart = i;
    while (i < text.length && TOKEN_CHAR.test(text[i]!)) i++;
    if (i === nameStart) return err(`expected a parameter name at offset ${i}`);
    const name = text.slice(nameStart, i).toLowerCase();
    skipSpace();
    if (text[i] !== '=') return err(`expected "=" after parameter "${name}"`);
    i++;
    skipSpace();
    let value = '';
    if (text[i] === '"') {
      i++;
      let closed = false;
      while (i < text.length) {
        const code = text.charCodeAt(i);
        if (code === 0x22) {
          closed = true;
          i++;
          break;
        }
        if (code === 0x5c) {
          const next = text.charCodeAt(i + 1);
          if (Number.isNaN(next) || !isEscapableChar(next)) return err(`invalid escape in parameter "${name}"`);
          value += text[i + 1];
          i += 2;
          continue;
        }
        if (!isQuotedTextChar(code)) return err(`invalid character in quoted parameter "${name}"`);
        value += text[i];
        i++;
      }
      if (!closed) return err(`unterminated quoted value for parameter "${name}"`);
    } else {
      const valueStart = i;
      while (i < text.length && UNQUOTED_VALUE_CHAR.test(text[i]!)) i++;
      if (i === valueStart) return err(`parameter "${name}" has no value`);
      value = text.slice(valueStart, i);
    }
    if (params.has(name)) return err(`duplicate parameter "${name}"`);
    params.set(name, value);
    skipSpace();
    if (i < text.length && text[i] !== ',') return err(`expected "," after parameter "${name}"`);
  }
  return ok(params);
}

/**
 * Parses an `Authorization` header value with the `X-Matrix` scheme (RFC 9110 §11.4):
 * case-insensitive scheme and parameter names, any order, one or more spaces after the
 * scheme, spaces and tabs around commas, values as tokens (colons allowed, for older
 * senders) or quoted strings with backslash escapes. Requires `origin`, `key` and `sig`;
 * `destination` is optional (older senders). Unknown parameters are ignored; duplicates
 * are refused. Never throws.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#request-authentication
 */
export function parseXMatrixHeader(header: string): Result<XMatrixAuthorization> {
  const match = /^x-matrix( +)/i.exec(header);
  if (!match) return err('Authorization scheme is not "X-Matrix"');
  const params = parseAuthParams(header.slice(match[0].length));
  if (!params.ok) return params;
  const originText = params.value.get('origin');
  const keyText = params.value.get('key');
  const sig = params.value.get('sig');
  const destinationText = params.value.get('destination');
  if (originText === undefined) return err('X-Matrix header has no "origin"');
  if (keyText === undefined) return err('X-Matrix header has no "key"');
  if (sig === undefined) return err('X-Matrix header has no "sig"');
  const origin = parseServerName(originText);
  if (!origin.ok) return err(`origin: ${origin.error}`);
  const key = parseServerKeyId(keyText);
  if (!key.ok) return err(`key: ${key.error}`);
  if (destinationText === undefined) return ok({ origin: origin.value, key: key.value, sig });
  const destination = parseServerName(destinationText);
  if (!destination.ok) return err(`destination: ${destination.error}`);
  return ok({ origin: origin.value, destination: destination.value, key: key.value, sig });
}

/**
 * Why a request was not authenticated:
 * - `wrong_destination`: `destination` names another server (answer 401);
 * - `key_not_found`: the origin's key could not be found (the lookup's reason);
 * - the codes of `JsonSignatureError` for the signature itself.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#request-authentication
 */
export interface XMatrixError {
  readonly code: 'wrong_destination' | 'key_not_found' | JsonSignatureError['code'];
  readonly message: string;
}

/**
 * What `verifyXMatrixRequest` needs: the parsed header, the request as received, this
 * server's name, and the outcome of looking up `authorization.key` for
 * `authorization.origin` (unpadded Base64 or raw bytes, or why it is unavailable).
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#request-authentication
 */
export interface VerifyXMatrixRequestInput {
  readonly authorization: XMatrixAuthorization;
  readonly method: string;
  readonly uri: string;
  readonly content?: JsonValue;
  readonly serverName: string;
  readonly verifyKey: Result<Uint8Array | string>;
  readonly backend: Ed25519Backend;
}

/**
 * Checks a federation request's `X-Matrix` signature: the destination (when sent) must be
 * this server, and the signature must verify over the request JSON rebuilt from what was
 * received. Returns the authenticated authorization. Never throws.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#request-authentication
 */
export function verifyXMatrixRequest(input: VerifyXMatrixRequestInput): Result<XMatrixAuthorization, XMatrixError> {
  const { authorization } = input;
  if (authorization.destination !== undefined && authorization.destination !== input.serverName) {
    return err({ code: 'wrong_destination', message: `request is for ${authorization.destination}, not ${input.serverName}` });
  }
  if (!input.verifyKey.ok) return err({ code: 'key_not_found', message: input.verifyKey.error });
  const json = buildRequestJson({
    method: input.method,
    uri: input.uri,
    origin: authorization.origin,
    destination: authorization.destination ?? input.serverName,
    ...(input.content === undefined ? {} : { content: input.content }),
  });
  json['signatures'] = { [authorization.origin]: { [authorization.key]: authorization.sig } };
  const verified = verifyJsonSignature(json, {
    serverName: authorization.origin,
    keyId: authorization.key,
    publicKey: input.verifyKey.value,
    backend: input.backend,
  });
  return verified.ok ? ok(authorization) : verified;
}
