// The Client-Server API client every bench drives every server with: undici with a
// keep-alive Agent (a connection per in-flight request), JSON in and out.
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { tail } from './run.mjs';

const require = createRequire(import.meta.url);
const { Agent, request } = require('undici');

export const PASSWORD = 'bench-password-1';

export function makeClient(baseUrl, agentOptions = {}) {
  const dispatcher = new Agent({ keepAliveTimeout: 60_000, keepAliveMaxTimeout: 600_000, connections: null, pipelining: 1, ...agentOptions });
  async function call(method, path, { token, body } = {}) {
    const headers = { 'content-type': 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    const res = await request(`${baseUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      dispatcher,
    });
    const text = await res.body.text();
    let json;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      json = { raw: text };
    }
    return { status: res.statusCode, json };
  }
  return { call, close: () => dispatcher.close() };
}

/** The JSON body of a 200 response; anything else throws, naming `what`. */
export async function must(promise, what) {
  const r = await promise;
  if (r.status !== 200) throw new Error(`${what}: HTTP ${r.status} ${JSON.stringify(r.json).slice(0, 300)}`);
  return r.json;
}

/** Polls /versions until the server answers 200; fails early if its process exits. */
export async function waitReady(baseUrl, proc, name, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.isExited()) throw new Error(`${name} exited while starting; last lines of ${proc.logFile}:\n${tail(proc.logFile)}`);
    try {
      const res = await fetch(`${baseUrl}/_matrix/client/versions`);
      if (res.status === 200) return;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`${name} not ready after ${timeoutMs / 1000} s; last lines of ${proc.logFile}:\n${tail(proc.logFile)}`);
    await sleep(200);
  }
}

/** Runs fn(i) for i in [0, n) with at most `limit` at a time. */
export async function pool(n, limit, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, limit) }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

/** Registers `username` with the m.login.dummy UIA flow (a 401 with a session, then `auth`). */
export async function register(client, username, password = PASSWORD) {
  const body = { username, password, initial_device_display_name: 'bench' };
  const first = await client.call('POST', '/_matrix/client/v3/register', { body });
  if (first.status !== 401 || !first.json.session) throw new Error(`register ${username}: expected 401 with a session, got ${first.status} ${JSON.stringify(first.json)}`);
  const done = await must(
    client.call('POST', '/_matrix/client/v3/register', { body: { ...body, auth: { type: 'm.login.dummy', session: first.json.session } } }),
    `register ${username}`,
  );
  return { userId: done.user_id, token: done.access_token };
}

export const sendPath = (roomId, txnId) => `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${encodeURIComponent(txnId)}`;
