// The fuzz run's world on the homeserver: a few users with real access tokens, rooms they
// share, events, aliases, filters and sync tokens, so generated requests name things that
// exist and get past authentication and "not found" into the code behind them. Requests
// that end a session (a valid /logout, /logout/all) are healed by logging in again, and an
// account a request deactivated is replaced by a new one.
import { createHmac } from 'node:crypto';

export const PASSWORD = 'fuzz-password-1';
export const SHARED_SECRET = 'fuzz-shared-secret';
const V3 = '/_matrix/client/v3';
const enc = encodeURIComponent;
const POOL = 60;

export class World {
  constructor(client, serverName) {
    this.client = client;
    this.serverName = serverName;
    this.password = PASSWORD;
    this.users = [];
    this.rooms = [];
    this.aliases = [];
    this.events = [];
    this.tokens = [];
    this.filters = [];
    this.txn = 0;
    this.generation = 0;
    this.heals = { relogins: 0, replaced: 0, rooms: 0 };
  }

  async call(method, path, { token, body } = {}) {
    return this.client.call(method, path, { token, body });
  }

  async must(method, path, opts, what) {
    const r = await this.call(method, path, opts);
    if (r.status !== 200) throw new Error(`setup: ${what ?? `${method} ${path}`}: HTTP ${r.status} ${JSON.stringify(r.json).slice(0, 300)}`);
    return r.json;
  }

  async setup(userCount = 3) {
    for (let i = 0; i < userCount; i++) this.users.push(await this.register(`fuzz${i}`));
    this.users.push(await this.registerAdmin('fuzzadmin'));
    for (let i = 0; i < 3; i++) await this.freshRoom();
    for (const user of this.users) {
      const f = await this.must('POST', `${V3}/user/${enc(user.userId)}/filter`, { token: user.token, body: { room: { timeline: { limit: 5 } } } });
      this.filters.push(f.filter_id);
      const s = await this.must('GET', `${V3}/sync?timeout=0`, { token: user.token });
      this.tokens.push(s.next_batch);
    }
    const m = await this.must('GET', `${V3}/rooms/${enc(this.rooms[0])}/messages?dir=b&limit=2`, { token: this.users[0].token });
    if (m.end) this.tokens.push(m.end);
  }

  async register(localpart) {
    const body = { username: localpart, password: PASSWORD };
    const first = await this.call('POST', `${V3}/register`, { body });
    if (first.status !== 401) throw new Error(`setup: register ${localpart}: ${first.status} ${JSON.stringify(first.json)}`);
    const done = await this.must('POST', `${V3}/register`, { body: { ...body, auth: { type: 'm.login.dummy', session: first.json.session } } }, `register ${localpart}`);
    return { localpart, userId: done.user_id, token: done.access_token, deviceId: done.device_id };
  }

  /** A server admin through Synapse's shared-secret registration, for the admin endpoints. */
  async registerAdmin(localpart) {
    const { nonce } = await this.must('GET', '/_synapse/admin/v1/register', {});
    const mac = createHmac('sha1', SHARED_SECRET).update(`${nonce}\0${localpart}\0${PASSWORD}\0admin`).digest('hex');
    const done = await this.must('POST', '/_synapse/admin/v1/register', { body: { nonce, username: localpart, password: PASSWORD, admin: true, mac } }, 'admin register');
    return { localpart, userId: done.user_id, token: done.access_token, deviceId: done.device_id, admin: true };
  }

  /**
   * A new public room everyone joins, with an alias and a few events; the oldest room
   * beyond six leaves the pool. Mutated requests may lock a room (its join rules, power
   * levels, bans), so the run rotates fresh ones in.
   */
  async freshRoom() {
    const owner = this.users[this.generation % this.users.length];
    const name = `fuzzroom${this.generation++}`;
    const created = await this.call('POST', `${V3}/createRoom`, { token: owner.token, body: { preset: 'public_chat', room_alias_name: name, name } });
    if (created.status !== 200) return false;
    const roomId = created.json.room_id;
    for (const user of this.users) if (user !== owner) await this.call('POST', `${V3}/join/${enc(roomId)}`, { token: user.token, body: {} });
    for (let i = 0; i < 3; i++) {
      const sent = await this.call('PUT', `${V3}/rooms/${enc(roomId)}/send/m.room.message/setup${this.txn++}`, { token: this.users[i % this.users.length].token, body: { msgtype: 'm.text', body: `setup ${i}` } });
      if (sent.status === 200) this.addEvent(sent.json.event_id);
    }
    this.rooms.push(roomId);
    this.aliases.push(`#${name}:${this.serverName}`);
    if (this.rooms.length > 6) {
      this.rooms.shift();
      this.aliases.shift();
    }
    return true;
  }

  addEvent(eventId) {
    if (typeof eventId !== 'string') return;
    this.events.push(eventId);
    if (this.events.length > POOL) this.events.shift();
  }

  /**
   * After an answer to a request made with `user`'s token: a 401 M_UNKNOWN_TOKEN means the
   * session ended (a valid logout, or a device deleted), so log in again; an account that
   * cannot log in any more (deactivated) is replaced by a new one.
   */
  async heal(user, answer) {
    if (!user || answer.status !== 401 || answer.json?.errcode !== 'M_UNKNOWN_TOKEN') return;
    user.healing ??= this.relogin(user).finally(() => {
      user.healing = undefined;
    });
    await user.healing;
  }

  async relogin(user) {
    const probe = await this.call('GET', `${V3}/account/whoami`, { token: user.token });
    if (probe.status === 200) return;
    const r = await this.call('POST', `${V3}/login`, { body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: user.localpart }, password: PASSWORD } });
    if (r.status === 200) {
      user.token = r.json.access_token;
      user.deviceId = r.json.device_id;
      this.heals.relogins++;
      return;
    }
    const replacement = user.admin ? await this.registerAdmin(`${user.localpart}r${this.heals.replaced}`) : await this.register(`${user.localpart}r${this.heals.replaced}`);
    Object.assign(user, replacement);
    this.heals.replaced++;
    for (const roomId of this.rooms) await this.call('POST', `${V3}/join/${enc(roomId)}`, { token: user.token, body: {} });
  }

  /** Every few thousand requests: a fresh room, and everyone back in the rooms of the pool. */
  async maintain() {
    if (await this.freshRoom()) this.heals.rooms++;
    for (const user of this.users) for (const roomId of this.rooms) await this.call('POST', `${V3}/join/${enc(roomId)}`, { token: user.token, body: {} });
  }

  /** Identifier values for one request by `user` (undefined: no identity). */
  idsFor(user, rng) {
    const world = this;
    const anyUser = () => rng.pick(world.users).userId;
    const room = () => rng.pick(world.rooms);
    const event = () => (world.events.length > 0 ? rng.pick(world.events) : `$fuzz${rng.int(10)}`);
    const token = () => rng.pick(world.tokens);
    return {
      forName(name, schema) {
        switch (name) {
          case 'userId':
          case 'user_id':
          case 'userid':
          case 'invitee':
            return schema?.type === 'array' ? [anyUser()] : anyUser();
          case 'user_ids':
            return [anyUser()];
          case 'roomId':
          case 'room_id':
            return room();
          case 'room_ids':
          case 'rooms':
          case 'not_rooms':
            return schema?.type === 'array' ? [room()] : undefined;
          case 'eventId':
          case 'event_id':
          case 'redacts':
            return event();
          case 'roomAlias':
          case 'room_alias':
          case 'alias':
            return rng.chance(0.5) ? rng.pick(world.aliases) : `#fuzz${rng.int(50)}:${world.serverName}`;
          case 'roomIdOrAlias':
            return rng.chance(0.5) ? room() : rng.pick(world.aliases);
          case 'deviceId':
          case 'device_id':
            return user?.deviceId ?? 'FUZZDEVICE';
          case 'serverName':
          case 'server_name':
          case 'server':
          case 'origin':
            return world.serverName;
          case 'via':
            return [world.serverName];
          case 'filterId':
            return rng.pick(world.filters);
          case 'filter':
            return rng.chance(0.5) ? rng.pick(world.filters) : JSON.stringify({ room: { timeline: { limit: rng.int(10) } } });
          case 'txnId':
            return `fz${world.txn++}`;
          case 'eventType':
            return rng.pick(['m.room.message', 'm.room.topic', 'm.room.name', 'org.example.fuzz', 'm.reaction', 'm.room.member']);
          case 'stateKey':
          case 'state_key':
            return rng.chance(0.7) ? '' : anyUser();
          case 'type':
            return schema?.enum ? undefined : rng.pick(['org.example.fuzz', 'm.direct', 'm.room.message', 'm.login.password', 'm.id.user']);
          case 'from':
          case 'since':
          case 'to':
          case 'next_batch':
          case 'at':
          case 'before':
          case 'after':
            return token();
          case 'timeout':
            // Mostly short; sometimes a long-poll that a room event or its timeout ends.
            return rng.chance(0.1) ? rng.range(2000, 30_000) : rng.range(0, 300);
          case 'limit':
            return rng.range(0, 20);
          case 'dir':
            return rng.pick(['b', 'f']);
          case 'keyName':
            return rng.pick(['displayname', 'avatar_url', 'm.tz', 'org.example.field']);
          case 'tag':
            return rng.pick(['u.fuzz', 'm.favourite', 'm.lowpriority']);
          case 'kind':
            return rng.pick(['override', 'underride', 'sender', 'room', 'content']);
          case 'ruleId':
            return rng.pick(['fuzzrule', '.m.rule.master', '.m.rule.contains_user_name']);
          case 'receiptType':
            return rng.pick(['m.read', 'm.read.private', 'm.fully_read']);
          case 'membership':
          case 'not_membership':
            return rng.pick(['join', 'invite', 'leave', 'ban', 'knock']);
          case 'password':
          case 'new_password':
            // The run's own logins depend on every account keeping the password it has.
            return PASSWORD;
          case 'username':
          case 'user':
            return rng.chance(0.5) ? `fz${rng.int(1_000_000)}` : rng.pick(world.users).localpart;
          case 'mxc':
          case 'avatar_url':
            return `mxc://${world.serverName}/fuzz${rng.int(10)}`;
          default:
            return undefined;
        }
      },
      forFormat(format, r) {
        switch (format) {
          case 'mx-user-id':
            return anyUser();
          case 'mx-room-id':
            return room();
          case 'mx-event-id':
            return event();
          case 'mx-server-name':
            return world.serverName;
          case 'mx-room-alias':
            return r.pick(world.aliases);
          case 'mx-mxc-uri':
            return `mxc://${world.serverName}/fuzz${r.int(10)}`;
          case 'uri':
            return 'https://example.org/fuzz';
          default:
            return undefined;
        }
      },
      keyFor(hint) {
        if (hint === 'messages' || hint === 'users' || hint === 'device_keys' || hint === 'one_time_keys') return anyUser();
        if (hint === 'events' || hint === 'notifications') return rng.pick(['m.room.name', 'm.room.topic', 'org.example.fuzz']);
        return undefined;
      },
    };
  }
}
