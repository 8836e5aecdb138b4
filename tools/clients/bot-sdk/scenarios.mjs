// matrix-bot-sdk scenarios against one homeserver, run by tools/clients/run.mjs.
//
//   node scenarios.mjs BASE_URL [SCENARIO ...]
//
// Same protocol as nio/scenarios.py: each scenario registers its own users and rooms, and
// one JSON line per scenario goes to stdout ({client, scenario, ok, ms, error}). The
// other side of the bot conversation is a plain HTTP client (RawUser), so what it sees is
// what the server sent, with no client library in between.
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';

import { installNoCryptoBinding } from './no-crypto.mjs';

const require = createRequire(import.meta.url);
installNoCryptoBinding();
const { AutojoinRoomsMixin, LogLevel, LogService, MatrixAuth, MemoryStorageProvider, MatrixClient } = require('matrix-bot-sdk');

LogService.setLevel(LogLevel.ERROR);
const PASSWORD = 'clients-password-1';
const SCENARIO_TIMEOUT_MS = 60_000;
const SYNC_WAIT_MS = 15_000;

class Failure extends Error {}
function check(condition, step) {
  if (!condition) throw new Failure(step);
}

/** A step's error as the server said it (bot-sdk rejects with the response: statusCode, body). */
async function step(name, promise) {
  try {
    return await promise;
  } catch (err) {
    if (err instanceof Failure) throw err;
    const status = err?.statusCode ?? err?.response?.statusCode;
    const body = err?.body ?? err?.response?.body;
    const detail = status !== undefined ? `HTTP ${status} ${typeof body === 'string' ? body : JSON.stringify(body)}` : String(err?.message ?? err);
    throw new Failure(`${name}: ${detail.slice(0, 400)}`);
  }
}

const localpart = (scenario, role) => `${scenario}-${role}-${randomBytes(4).toString('hex')}`;

/** A user driven with plain fetch: the m.login.dummy registration flow, /createRoom, /send, /sync. */
class RawUser {
  constructor(baseUrl) {
    this.baseUrl = baseUrl;
    this.since = undefined;
  }

  async call(method, path, body) {
    const headers = { 'content-type': 'application/json' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const res = await fetch(`${this.baseUrl}/_matrix/client/v3${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const json = await res.json().catch(() => ({}));
    return { status: res.status, json };
  }

  async must(what, method, path, body) {
    const r = await this.call(method, path, body);
    if (r.status !== 200) throw new Failure(`${what}: HTTP ${r.status} ${JSON.stringify(r.json).slice(0, 400)}`);
    return r.json;
  }

  async register(username) {
    const body = { username, password: PASSWORD, initial_device_display_name: 'raw' };
    const first = await this.call('POST', '/register', body);
    check(first.status === 401 && first.json.session, `register ${username}: want 401 with a session, got ${first.status} ${JSON.stringify(first.json)}`);
    const done = await this.must(`register ${username}`, 'POST', '/register', { ...body, auth: { type: 'm.login.dummy', session: first.json.session } });
    this.token = done.access_token;
    this.userId = done.user_id;
    await this.sync();
    return this;
  }

  async sync() {
    const q = this.since === undefined ? '?timeout=0' : `?timeout=1000&since=${encodeURIComponent(this.since)}`;
    const r = await this.must('sync', 'GET', `/sync${q}`);
    this.since = r.next_batch;
    return r;
  }

  /** Syncs until found(event) holds for a timeline event of roomId; returns that event. */
  async waitFor(roomId, found, what) {
    const deadline = Date.now() + SYNC_WAIT_MS;
    for (;;) {
      const r = await this.sync();
      const hit = (r.rooms?.join?.[roomId]?.timeline?.events ?? []).find(found);
      if (hit) return hit;
      if (Date.now() > deadline) throw new Failure(`${what}: not seen within ${SYNC_WAIT_MS / 1000} s of syncs`);
    }
  }
}

const scenarios = {
  /** MatrixAuth registration and login, rooms, send, and reading the event back. */
  async 'register-login-send'(baseUrl, s) {
    const auth = new MatrixAuth(baseUrl);
    const name = localpart(s, 'alice');
    const first = await step('MatrixAuth.passwordRegister', auth.passwordRegister(name, PASSWORD, 'bot-sdk first'));
    const userId = await step('getUserId', first.getUserId());
    check(userId.startsWith(`@${name}:`), `registered as ${userId}`);
    const second = await step('MatrixAuth.passwordLogin', auth.passwordLogin(name, PASSWORD, 'bot-sdk second'));
    const [a, b] = await Promise.all([step('whoami (first)', first.getWhoAmI()), step('whoami (second)', second.getWhoAmI())]);
    check(a.user_id === userId && b.user_id === userId && a.device_id !== b.device_id, `whoami: ${JSON.stringify([a, b])}`);

    const other = await step('register a second user', auth.passwordRegister(localpart(s, 'bob'), PASSWORD));
    const roomId = await step('createRoom', second.createRoom({ preset: 'public_chat', name: 'bot-sdk room' }));
    await step('bob joins', other.joinRoom(roomId));
    const eventId = await step('sendText', second.sendText(roomId, 'hello from bot-sdk'));
    const event = await step('bob gets the event', other.getEvent(roomId, eventId));
    check(event.content?.body === 'hello from bot-sdk' && event.sender === userId, `event: ${JSON.stringify(event)}`);
    const members = await step('getJoinedRoomMembers', other.getJoinedRoomMembers(roomId));
    check(members.includes(userId) && members.length === 2, `members: ${members}`);
  },

  /** A bot with AutojoinRoomsMixin joins on invite and answers "!ping", as a user sees it. */
  async 'bot-autojoin-reply'(baseUrl, s) {
    const auth = new MatrixAuth(baseUrl);
    const registered = await step('register the bot', auth.passwordRegister(localpart(s, 'bot'), PASSWORD, 'bot'));
    const bot = new MatrixClient(baseUrl, registered.accessToken, new MemoryStorageProvider());
    const botId = await step('bot getUserId', bot.getUserId());
    AutojoinRoomsMixin.setupOnClient(bot);
    bot.on('room.message', (roomId, event) => {
      if (event.sender === botId || event.content?.body !== '!ping') return;
      bot.replyNotice(roomId, event, 'pong').catch((err) => LogService.error('bot', `reply failed: ${err.message}`));
    });
    await step('bot starts syncing', bot.start());
    try {
      const user = await new RawUser(baseUrl).register(localpart(s, 'user'));
      const { room_id: roomId } = await user.must('createRoom inviting the bot', 'POST', '/createRoom', { preset: 'private_chat', invite: [botId] });
      await user.waitFor(roomId, (e) => e.type === 'm.room.member' && e.state_key === botId && e.content?.membership === 'join', 'the bot joins');
      const { event_id: ping } = await user.must('send !ping', 'PUT', `/rooms/${encodeURIComponent(roomId)}/send/m.room.message/ping-${Date.now()}`, {
        msgtype: 'm.text',
        body: '!ping',
      });
      const reply = await user.waitFor(roomId, (e) => e.type === 'm.room.message' && e.sender === botId, "the bot's reply");
      check(reply.content?.msgtype === 'm.notice' && /pong$/.test(reply.content?.body ?? ''), `reply: ${JSON.stringify(reply.content)}`);
      check(reply.content?.['m.relates_to']?.['m.in_reply_to']?.event_id === ping, `reply is not to !ping: ${JSON.stringify(reply.content)}`);
    } finally {
      bot.stop();
    }
  },
};

async function run(baseUrl, name) {
  const t = performance.now();
  let error = null;
  let timer;
  try {
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Failure(`timed out after ${SCENARIO_TIMEOUT_MS / 1000} s`)), SCENARIO_TIMEOUT_MS);
    });
    await Promise.race([scenarios[name](baseUrl, name), timeout]);
  } catch (err) {
    error = err instanceof Failure ? err.message : `${err?.name ?? 'Error'}: ${err?.message ?? err} (inside matrix-bot-sdk: ${(err?.stack ?? '').split('\n')[1]?.trim()})`;
  } finally {
    clearTimeout(timer);
  }
  return { client: 'bot-sdk', scenario: name, ok: error === null, ms: Math.round(performance.now() - t), error };
}

const [baseUrl, ...names] = process.argv.slice(2);
const chosen = names.length ? names : Object.keys(scenarios);
const unknown = chosen.filter((n) => !(n in scenarios));
if (!baseUrl || unknown.length) {
  process.stderr.write(`usage: scenarios.mjs BASE_URL [${Object.keys(scenarios).join('|')} ...]${unknown.length ? `; unknown: ${unknown}` : ''}\n`);
  process.exit(2);
}
for (const name of chosen) process.stdout.write(`${JSON.stringify(await run(baseUrl, name))}\n`);
// The bot's last long-poll may still be open; nothing else is pending.
await sleep(0);
process.exit(0);
