// One generated request for one operation: path, query and body built from the operation's
// OpenAPI schemas with the world's real identifiers, then (when mutating) one or more parts
// replaced by hostile input.
import { encodeSegment, fromSchema, HOSTILE_QUERY_VALUES, HOSTILE_SEGMENTS, HOSTILE_STRINGS, mutateValue, rawMutation } from './values.mjs';

/** Axon's long-poll cap (libs/services/sync/src/long-poll.ts MAX_TIMEOUT_MS): a longer timeout is served as this. */
export const MAX_LONG_POLL_MS = 120_000;
/** Operations whose answer may wait for their `timeout` query parameter. */
const LONG_POLLS = new Set(['GET /_matrix/client/v3/sync', 'GET /_matrix/client/v3/events']);

const SERVER_NOTICE_BODY = {
  mediaType: 'application/json',
  required: true,
  schema: {
    type: 'object',
    required: ['user_id', 'content'],
    properties: { user_id: { type: 'string', format: 'mx-user-id' }, content: { type: 'object', properties: { msgtype: { enum: ['m.text'] }, body: { type: 'string' } } }, type: { type: 'string' }, state_key: { type: 'string' } },
  },
};

/**
 * Endpoints Axon serves that the Matrix specification does not describe: Synapse's admin
 * API (https://element-hq.github.io/synapse/latest/admin_api/register_api.html and
 * server_notices.html), Synapse's send without a transaction ID, and the operations
 * endpoints. Schemas written from those pages.
 */
export const EXTRA_OPERATIONS = [
  { api: 'synapse-admin', method: 'GET', path: '/_synapse/admin/v1/register', auth: 'none', parameters: [] },
  {
    api: 'synapse-admin',
    method: 'POST',
    path: '/_synapse/admin/v1/register',
    auth: 'none',
    parameters: [],
    body: {
      mediaType: 'application/json',
      required: true,
      schema: { type: 'object', required: ['nonce', 'username', 'password', 'mac'], properties: { nonce: { type: 'string' }, username: { type: 'string' }, displayname: { type: 'string' }, password: { type: 'string' }, admin: { type: 'boolean' }, mac: { type: 'string' } } },
    },
  },
  { api: 'synapse-admin', method: 'POST', path: '/_synapse/admin/v1/send_server_notice', auth: 'admin', operationId: 'sendServerNotice', parameters: [], body: SERVER_NOTICE_BODY },
  { api: 'synapse-admin', method: 'PUT', path: '/_synapse/admin/v1/send_server_notice/{txnId}', auth: 'admin', operationId: 'sendServerNotice', parameters: [], body: SERVER_NOTICE_BODY },
  {
    api: 'synapse',
    method: 'POST',
    path: '/_matrix/client/v3/rooms/{roomId}/send/{eventType}',
    auth: 'user',
    parameters: [],
    body: { mediaType: 'application/json', required: true, schema: { type: 'object', example: { msgtype: 'm.text', body: 'hello' } } },
  },
  { api: 'operations', method: 'GET', path: '/health', auth: 'none', parameters: [] },
  { api: 'operations', method: 'GET', path: '/ready', auth: 'none', parameters: [] },
  { api: 'operations', method: 'GET', path: '/metrics', auth: 'none', parameters: [] },
];

/**
 * Bodies a schema alone rarely makes valid (the right password, a server admin's call), by
 * operation: used for some requests of these operations, mutated or not, so the code
 * behind their checks runs too.
 */
const RECIPES = {
  login: (world, rng) => ({
    type: 'm.login.password',
    identifier: { type: 'm.id.user', user: rng.pick(world.users).localpart },
    password: world.password,
    ...(rng.chance(0.5) ? { initial_device_display_name: `fuzz ${rng.int(100)}` } : {}),
    ...(rng.chance(0.3) ? { refresh_token: true } : {}),
  }),
  register: (world, rng) => ({ username: `fz${rng.int(1_000_000)}`, password: world.password, auth: { type: 'm.login.dummy' }, ...(rng.chance(0.3) ? { inhibit_login: true } : {}) }),
  sendServerNotice: (world, rng) => ({ user_id: rng.pick(world.users).userId, content: { msgtype: 'm.text', body: `notice ${rng.int(100)}` } }),
};

export const operationKey = (op) => `${op.method} ${op.path}${op.variant ? ` (${op.variant})` : ''}`;

function queryString(pairs) {
  return pairs.length === 0 ? '' : `?${pairs.map(([k, v]) => `${encodeSegment(k)}=${v.raw ? v.raw : encodeSegment(v)}`).join('&')}`;
}

function queryValues(value) {
  if (Array.isArray(value)) return value.map((v) => (typeof v === 'string' ? v : JSON.stringify(v)));
  if (value !== null && typeof value === 'object') return [JSON.stringify(value)];
  return [String(value)];
}

/**
 * Builds request `index` of the run for `op`. `mutate`: whether hostile input replaces
 * some of it. Returns what to send and a short description of what was mutated.
 */
export function buildRequest(op, world, rng, mutate) {
  const admin = world.users.find((u) => u.admin);
  const user = op.auth === 'admin' && rng.chance(0.8) ? admin : op.auth === 'user' || op.auth === 'admin' || (op.auth === 'optional' && rng.chance(0.6)) ? rng.pick(world.users) : undefined;
  const ids = world.idsFor(user, rng);
  const notes = [];
  const params = Object.fromEntries(op.parameters.map((p) => [`${p.in}:${p.name}`, p]));

  const segments = {};
  for (const name of op.path.match(/\{[^}]+\}/g) ?? []) {
    const bare = name.slice(1, -1);
    const param = params[`path:${bare}`];
    segments[bare] = encodeSegment(fromSchema(rng, param?.schema ?? { type: 'string' }, bare, ids));
  }
  const query = [];
  for (const p of op.parameters.filter((x) => x.in === 'query' && x.name !== 'access_token')) {
    if (!p.required && !rng.chance(0.4)) continue;
    for (const v of queryValues(fromSchema(rng, p.schema, p.name, ids))) query.push([p.name, v]);
  }
  let bodyValue;
  let bodyBytes;
  let contentType;
  if (op.body?.mediaType === 'application/json') {
    const recipe = RECIPES[op.operationId];
    if (recipe && rng.chance(0.5)) bodyValue = recipe(world, rng);
    else bodyValue = op.body.example !== undefined && rng.chance(0.25) ? structuredClone(op.body.example) : fromSchema(rng, op.body.schema, '', ids);
    contentType = 'application/json';
  } else if (op.body) {
    bodyBytes = Buffer.from(Array.from({ length: rng.range(0, 64) }, () => rng.int(256)));
    contentType = op.body.mediaType;
  } else if (op.method !== 'GET' && op.method !== 'DELETE' && rng.chance(0.3)) {
    bodyValue = {};
    contentType = 'application/json';
  }
  let token = user?.token;
  let authHeader;
  let rawText;

  if (mutate) {
    const kinds = ['body', 'body', 'raw', 'raw', 'path', 'query', 'query', 'auth', 'content-type', 'huge'];
    for (let n = rng.chance(0.25) ? 2 : 1; n > 0; n--) {
      const kind = rng.pick(kinds);
      switch (kind) {
        case 'body': {
          const m = mutateValue(rng, bodyValue ?? {});
          bodyValue = m.value;
          contentType ??= 'application/json';
          notes.push(`body${m.at}`);
          break;
        }
        case 'raw': {
          const m = rawMutation(rng, bodyValue);
          if (m.bytes) bodyBytes = m.bytes;
          else rawText = m.text;
          contentType ??= 'application/json';
          notes.push(`raw ${m.what}`);
          break;
        }
        case 'path': {
          const names = Object.keys(segments);
          if (names.length === 0) {
            notes.push('path suffix');
            segments['~suffix'] = rng.pick(HOSTILE_SEGMENTS);
            break;
          }
          const name = rng.pick(names);
          segments[name] = rng.chance(0.5) ? rng.pick(HOSTILE_SEGMENTS) : encodeSegment(rng.pick(HOSTILE_STRINGS).slice(0, 2000));
          notes.push(`path {${name}}`);
          break;
        }
        case 'query': {
          const names = op.parameters.filter((x) => x.in === 'query').map((x) => x.name);
          const name = names.length > 0 && rng.chance(0.85) ? rng.pick(names) : rng.pick(['timeout', 'limit', 'from', 'unknown_param', '']);
          const value = rng.pick(HOSTILE_QUERY_VALUES);
          if (rng.chance(0.2)) query.push([name, value]); // the parameter twice
          else {
            for (let i = query.length - 1; i >= 0; i--) if (query[i][0] === name) query.splice(i, 1);
            query.push([name, rng.chance(0.15) ? { raw: rng.pick(['%', '%zz', '%ED%A0%80', '%FF', '%00']) } : value]);
          }
          notes.push(`query ${name}`);
          break;
        }
        case 'auth': {
          const choice = rng.int(5);
          if (choice === 0) token = undefined;
          else if (choice === 1) token = rng.pick(['syt_bad', 'x'.repeat(5000), '%00', 'a b', 'é']);
          else if (choice === 2) authHeader = rng.pick(['Bearer', 'Bearer ', 'Basic YTpi', `Bearer ${token ?? 'x'} extra`, 'X-Matrix origin=example.org,key="ed25519:1",sig="x"']);
          else if (choice === 3) query.push(['access_token', rng.pick(['bad', token ?? 'bad'])]);
          else token = rng.pick(world.users).token; // someone else's token
          notes.push('auth');
          break;
        }
        case 'content-type':
          contentType = rng.pick([undefined, 'text/plain', 'application/json; charset=latin1', 'application/x-www-form-urlencoded', 'multipart/form-data', 'application/json;;']);
          bodyValue ??= { a: 1 };
          notes.push(`content-type ${contentType}`);
          break;
        default: // a body past the 1 MiB limit, or a string field just under it
          rawText = rng.chance(0.5) ? `{"a":"${'x'.repeat(1_100_000)}"}` : `{"body":"${'y'.repeat(1_000_000)}","msgtype":"m.text"}`;
          contentType ??= 'application/json';
          notes.push('huge body');
      }
    }
  }

  const version = op.path.startsWith('/_matrix/client/v3/') && rng.chance(0.05) ? '/_matrix/client/r0/' : undefined;
  let path = op.path.replace(/\{([^}]+)\}/g, (_, name) => segments[name]);
  if (version) path = version + path.slice('/_matrix/client/v3/'.length);
  if (segments['~suffix']) path += `/${segments['~suffix']}`;
  // An empty last parameter (the state key "") is also sent without its slash, as clients do.
  else if (path.endsWith('/') && op.path.endsWith('}') && rng.chance(0.5)) path = path.slice(0, -1);
  path += queryString(query);

  const headers = {};
  if (authHeader !== undefined) headers.authorization = authHeader;
  else if (token !== undefined) headers.authorization = `Bearer ${token}`;
  let body;
  if (bodyBytes) body = bodyBytes;
  else if (rawText !== undefined) body = rawText;
  else if (bodyValue !== undefined) body = JSON.stringify(bodyValue);
  if (body !== undefined && contentType) headers['content-type'] = contentType;

  // The answer may legitimately wait for the request's own timeout (capped by the server).
  let waitMs = 0;
  if (LONG_POLLS.has(operationKey(op))) {
    const t = query.find(([k]) => k === 'timeout')?.[1];
    if (t !== undefined) {
      const n = typeof t === 'string' ? Number(t) : NaN;
      waitMs = Number.isFinite(n) && n >= 0 ? Math.ceil(Math.min(n, MAX_LONG_POLL_MS)) : MAX_LONG_POLL_MS;
    }
  }
  return { method: op.method, path, headers, body, user, mutated: mutate, notes, waitMs };
}
