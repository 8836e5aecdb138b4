import { Client } from 'pg';

/**
 * Requests that failed on a kept-alive connection the server side closed before any
 * answer, and were sent again at once (what browsers and HTTP libraries do for idempotent
 * methods: RFC 9112 §9.3.1, RFC 9110 §9.2.2). nginx closes its idle keep-alive connections
 * when it reloads its configuration, so a test that rescales sees a few.
 */
export const connectionRetries: string[] = [];

const IDEMPOTENT = new Set(['GET', 'PUT', 'DELETE']);

function closedBeforeAnswer(err: unknown): boolean {
  const code = (err as { cause?: { code?: string } }).cause?.code;
  return code === 'UND_ERR_SOCKET' || code === 'ECONNRESET';
}

/** A JSON call to the deployment; `undefined` status when the connection failed. */
export async function call(
  baseUrl: string,
  method: string,
  path: string,
  token?: string,
  body?: unknown,
  timeoutMs = 45_000,
): Promise<{ status: number | undefined; body: Record<string, unknown> }> {
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await fetch(`${baseUrl}${path}`, {
        method,
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await res.text();
      let parsed: Record<string, unknown> = {};
      try {
        parsed = JSON.parse(text) as Record<string, unknown>;
      } catch {
        parsed = { raw: text };
      }
      return { status: res.status, body: parsed };
    } catch (err) {
      if (attempt === 1 && IDEMPOTENT.has(method) && closedBeforeAnswer(err)) {
        connectionRetries.push(`${method} ${path.slice(0, 80)}: ${String((err as { cause?: unknown }).cause)}`);
        continue;
      }
      return { status: undefined, body: { error: (err as Error).message } };
    }
  }
}

export interface Session {
  readonly userId: string;
  readonly token: string;
}

export async function register(baseUrl: string, username: string): Promise<Session> {
  const res = await call(baseUrl, 'POST', '/_matrix/client/v3/register', undefined, { username, password: 'pw pw pw', auth: { type: 'm.login.dummy' } });
  if (res.status !== 200) throw new Error(`register ${username}: ${res.status} ${JSON.stringify(res.body)}`);
  return { userId: res.body['user_id'] as string, token: res.body['access_token'] as string };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface SentMessage {
  readonly roomId: string;
  readonly txnId: string;
  readonly startedAt: number;
  readonly ackedAt: number;
  readonly eventId: string;
  /** Attempts it took (1 = acknowledged at once). */
  readonly attempts: number;
}

/**
 * One sender per room, each sending its messages strictly one after another, as a
 * client does: a failed send (no answer, 5xx, 429) is retried with the same transaction
 * ID until acknowledged, so every message is either acknowledged once or still pending.
 */
export class Senders {
  readonly acked: SentMessage[] = [];
  /** Every attempt that was not acknowledged: when, and what came back. */
  readonly failures: { readonly at: number; readonly txnId: string; readonly answer: string }[] = [];
  private running = true;
  private readonly loops: Promise<void>[] = [];
  private counter = 0;
  /** Transaction IDs are unique per run: a reused one would (rightly) answer an earlier event. */
  private readonly run = Math.random().toString(36).slice(2, 8);

  constructor(
    private readonly baseUrl: string,
    private readonly sender: Session,
    private readonly roomIds: readonly string[],
    private readonly pauseMs = 50,
  ) {}

  start(): this {
    for (const roomId of this.roomIds) this.loops.push(this.loop(roomId));
    return this;
  }

  /** Stops starting new messages; resolves when every message in flight is acknowledged. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  private async loop(roomId: string): Promise<void> {
    while (this.running) {
      const txnId = `${this.run}-${++this.counter}`;
      const startedAt = Date.now();
      let attempts = 0;
      for (;;) {
        attempts++;
        const res = await call(
          this.baseUrl,
          'PUT',
          `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${txnId}`,
          this.sender.token,
          { msgtype: 'm.text', body: txnId },
        );
        if (res.status === 200) {
          this.acked.push({ roomId, txnId, startedAt, ackedAt: Date.now(), eventId: res.body['event_id'] as string, attempts });
          break;
        }
        this.failures.push({ at: Date.now(), txnId, answer: `${res.status}: ${JSON.stringify(res.body).slice(0, 200)}` });
        if (res.status !== undefined && res.status < 500 && res.status !== 429) {
          throw new Error(`send ${txnId} refused: ${res.status} ${JSON.stringify(res.body)}`);
        }
        if (Date.now() - startedAt > 180_000) throw new Error(`send ${txnId} not acknowledged in 180 s: ${JSON.stringify(res.body)}`);
        await sleep(200);
      }
      await sleep(this.pauseMs);
    }
  }
}

/**
 * Clients reading as clients do between syncs (the rooms they are in, a room's members),
 * one request after another per reader: requests client-api answers with gRPC queries to
 * the room server, so that every room-server replica has calls to take. Any answer but
 * 200 is a failure; none is retried.
 */
export class Readers {
  readonly failures: string[] = [];
  count = 0;
  private running = true;
  private readonly loops: Promise<void>[] = [];

  constructor(
    private readonly baseUrl: string,
    private readonly readers: readonly Session[],
    private readonly roomIds: readonly string[],
    private readonly pauseMs = 100,
  ) {}

  start(): this {
    for (const reader of this.readers) this.loops.push(this.loop(reader));
    return this;
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  private async loop(reader: Session): Promise<void> {
    for (let i = 0; this.running; i++) {
      const roomId = this.roomIds[i % this.roomIds.length]!;
      const path = i % 2 === 0 ? '/_matrix/client/v3/joined_rooms' : `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/joined_members`;
      const res = await call(this.baseUrl, 'GET', path, reader.token);
      this.count++;
      if (res.status !== 200) this.failures.push(`GET ${path}: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
      await sleep(this.pauseMs);
    }
  }
}

export interface SeenEvent {
  readonly eventId: string;
  readonly body: string;
  readonly seenAt: number;
}

/**
 * A client long-polling `/sync` through the deployment's front door, always continuing
 * from the last `next_batch` it received (a failed poll is repeated with the same token),
 * recording each room's timeline message events in the order they arrive and every
 * incremental `limited` timeline (a gap).
 */
export class SyncWatcher {
  readonly seen = new Map<string, SeenEvent[]>();
  readonly gaps: string[] = [];
  readonly failures: string[] = [];
  /** Every answered poll: the token it continued from, the one it returned, when, and the events per room. */
  readonly polls: { since: string | undefined; next: string; at: number; events: Record<string, string[]> }[] = [];
  private since: string | undefined;
  private running = true;
  private loop: Promise<void> | undefined;
  private filterId: string | undefined;

  constructor(
    private readonly baseUrl: string,
    private readonly user: Session,
  ) {}

  async start(): Promise<this> {
    const filter = await call(this.baseUrl, 'POST', `/_matrix/client/v3/user/${encodeURIComponent(this.user.userId)}/filter`, this.user.token, {
      room: { timeline: { limit: 1000 } },
      presence: { types: [] },
    });
    if (filter.status !== 200) throw new Error(`filter: ${filter.status} ${JSON.stringify(filter.body)}`);
    this.filterId = filter.body['filter_id'] as string;
    await this.poll(0); // the initial sync: its timelines are history, not deliveries
    this.seen.clear();
    this.loop = (async () => {
      while (this.running) await this.poll(2000);
    })();
    return this;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /** Resolves once every message in `expected` was seen, or rejects after `timeoutMs`. */
  async waitFor(expected: readonly { roomId: string; eventId: string }[], timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const missing = expected.filter((m) => !(this.seen.get(m.roomId) ?? []).some((e) => e.eventId === m.eventId));
      if (missing.length === 0) return;
      if (Date.now() > deadline) throw new Error(`${missing.length} acknowledged messages never reached /sync, e.g. ${JSON.stringify(missing.slice(0, 3))}`);
      await sleep(100);
    }
  }

  seenAt(roomId: string, eventId: string): number | undefined {
    return (this.seen.get(roomId) ?? []).find((e) => e.eventId === eventId)?.seenAt;
  }

  private async poll(timeout: number): Promise<void> {
    const query = new URLSearchParams({ timeout: String(timeout), filter: this.filterId!, ...(this.since ? { since: this.since } : {}) });
    const res = await call(this.baseUrl, 'GET', `/_matrix/client/v3/sync?${query}`, this.user.token, undefined, timeout + 30_000);
    if (res.status !== 200) {
      this.failures.push(`${res.status}: ${JSON.stringify(res.body).slice(0, 200)}`);
      await sleep(200);
      return;
    }
    const incremental = this.since !== undefined;
    const now = Date.now();
    const join = ((res.body['rooms'] as Record<string, unknown> | undefined)?.['join'] ?? {}) as Record<string, { timeline?: { events?: Record<string, unknown>[]; limited?: boolean } }>;
    this.polls.push({
      since: this.since,
      next: res.body['next_batch'] as string,
      at: now,
      events: Object.fromEntries(Object.entries(join).map(([roomId, room]) => [roomId, (room.timeline?.events ?? []).map((e) => e['event_id'] as string)])),
    });
    for (const [roomId, room] of Object.entries(join)) {
      if (incremental && room.timeline?.limited) this.gaps.push(`${roomId} limited after ${this.since}`);
      for (const event of room.timeline?.events ?? []) {
        if (event['type'] !== 'm.room.message') continue;
        const list = this.seen.get(roomId) ?? [];
        list.push({ eventId: event['event_id'] as string, body: String((event['content'] as Record<string, unknown>)['body']), seenAt: now });
        this.seen.set(roomId, list);
      }
    }
    this.since = res.body['next_batch'] as string;
  }
}

/**
 * What the room server stored, checked straight in its schema: each room's events form
 * one linear chain (every event's only prev event is the one before it, one forward
 * extremity), and each message transaction was persisted at most once.
 */
export async function checkRoomHistory(databaseUrl: string, roomId: string): Promise<{ eventIds: string[]; problems: string[] }> {
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const events = await db.query<{ event_id: string; room_seq: number; pdu_json: string }>(
      'SELECT event_id, room_seq, pdu_json FROM room_server.events WHERE room_id = $1 ORDER BY room_seq',
      [roomId],
    );
    const extremities = await db.query<{ event_id: string }>('SELECT unnest(forward_extremities) AS event_id FROM room_server.rooms WHERE room_id = $1', [roomId]);
    const problems: string[] = [];
    const eventIds: string[] = [];
    const bodies = new Map<string, number>();
    let previous: string | undefined;
    for (const row of events.rows) {
      const pdu = JSON.parse(row.pdu_json) as { prev_events: string[]; type: string; content: Record<string, unknown> };
      const expected = previous === undefined ? [] : [previous];
      if (JSON.stringify(pdu.prev_events) !== JSON.stringify(expected)) {
        problems.push(`${row.event_id} (seq ${row.room_seq}) has prev_events ${JSON.stringify(pdu.prev_events)}, expected ${JSON.stringify(expected)}`);
      }
      if (pdu.type === 'm.room.message') {
        const body = String(pdu.content['body']);
        bodies.set(body, (bodies.get(body) ?? 0) + 1);
      }
      eventIds.push(row.event_id);
      previous = row.event_id;
    }
    for (const [body, count] of bodies) if (count > 1) problems.push(`transaction ${body} persisted ${count} times`);
    const tips = extremities.rows.map((r) => r.event_id);
    if (tips.length !== 1 || tips[0] !== previous) problems.push(`forward extremities ${JSON.stringify(tips)}, expected [${previous}]`);
    return { eventIds, problems };
  } finally {
    await db.end();
  }
}

/**
 * What every traffic test checks in the end, per room: the stored history is one linear
 * chain holding every acknowledged message once, and each watcher received every
 * acknowledged message exactly once, in send order.
 */
export async function expectAckedStoredAndDelivered(databaseUrl: string, roomIds: readonly string[], acked: readonly SentMessage[], watchers: readonly SyncWatcher[]): Promise<void> {
  for (const roomId of roomIds) {
    const sent = acked.filter((m) => m.roomId === roomId);
    const history = await checkRoomHistory(databaseUrl, roomId);
    expect(history.problems).toEqual([]);
    const stored = new Set(history.eventIds);
    expect(sent.filter((m) => !stored.has(m.eventId))).toEqual([]);
    const ackedIds = sent.map((m) => m.eventId);
    for (const watcher of watchers) {
      const delivered = (watcher.seen.get(roomId) ?? []).map((e) => e.eventId);
      expect(delivered.filter((id) => ackedIds.includes(id))).toEqual(ackedIds);
      expect(new Set(delivered).size).toBe(delivered.length);
    }
  }
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
