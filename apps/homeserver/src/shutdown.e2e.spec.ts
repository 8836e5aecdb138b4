import { Agent, request } from 'undici';
import { specErrors, startHomeserver } from '@axon/testing';

/**
 * SIGTERM under load: the process stops accepting, lets what it accepted finish, closes
 * its database cleanly and exits 0. Every response a client got is complete and valid;
 * a request that got no response was refused at the connection (safe to retry), never
 * answered with an error or cut off half-way.
 */
describe('graceful shutdown', () => {
  it('drains under load, exits 0, and restarts on the same data', async () => {
    const hs = await startHomeserver();
    const agent = new Agent({ connections: 8, pipelining: 1, keepAliveTimeout: 10000 });
    const outcomes = { ok: 0, okAfterSignal: 0, refused: 0, bad: [] as string[] };
    let signalled = false;
    let stop = false;

    const worker = async (): Promise<void> => {
      while (!stop) {
        try {
          const res = await request(`${hs.baseUrl}/_matrix/client/versions`, { dispatcher: agent });
          const text = await res.body.text();
          const body = JSON.parse(text) as unknown;
          const errors = specErrors('client-server', 'GET /_matrix/client/versions 200', body);
          if (res.statusCode !== 200 || errors.length > 0) outcomes.bad.push(`${res.statusCode} ${text}`);
          else if (signalled) outcomes.okAfterSignal++;
          else outcomes.ok++;
        } catch (err) {
          const code = (err as { code?: string }).code ?? '';
          // Refused or closed before a response started: the client may retry.
          if (['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED'].includes(code)) {
            outcomes.refused++;
            if (signalled) await new Promise((r) => setTimeout(r, 5));
          } else {
            outcomes.bad.push(`${code}: ${(err as Error).message}`);
          }
        }
      }
    };

    const workers = Array.from({ length: 8 }, () => worker());
    while (outcomes.ok < 300) await new Promise((r) => setTimeout(r, 10));
    signalled = true;
    const exit = await hs.stop('SIGTERM');
    stop = true;
    await Promise.all(workers);
    await agent.close();

    expect(exit).toEqual({ code: 0, signal: null });
    expect(outcomes.bad).toEqual([]);
    expect(hs.logs.map((l) => l['msg'])).toEqual(expect.arrayContaining(['shutdown complete']));
    expect(hs.logs.filter((l) => l['level'] === 'error')).toEqual([]);

    // The embedded database was closed cleanly: the same data directory opens again.
    const again = await startHomeserver({}, { dataDir: hs.dataDir });
    try {
      const ready = await fetch(`${again.baseUrl}/ready`);
      expect(ready.status).toBe(200);
    } finally {
      expect(await again.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    }
  });

  it('answers open /sync long-polls at once on SIGTERM instead of waiting out their timeouts', async () => {
    const hs = await startHomeserver({ AXON_ENABLE_REGISTRATION: 'true', AXON_RATE_LIMITS_ENABLED: 'false', AXON_PRESENCE_ENABLED: 'false' });
    const post = async (path: string, body: unknown): Promise<Record<string, unknown>> =>
      (await (await fetch(`${hs.baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json()) as Record<string, unknown>;
    const first = await post('/_matrix/client/v3/register', { username: 'poller', password: 'pw pw pw' });
    const session = await post('/_matrix/client/v3/register', { username: 'poller', password: 'pw pw pw', auth: { type: 'm.login.dummy', session: first['session'] } });
    const headers = { authorization: `Bearer ${session['access_token'] as string}` };
    const initial = (await (await fetch(`${hs.baseUrl}/_matrix/client/v3/sync`, { headers })).json()) as { next_batch: string };
    const polls = Array.from({ length: 3 }, async () => {
      const res = await fetch(`${hs.baseUrl}/_matrix/client/v3/sync?timeout=60000&since=${initial.next_batch}`, { headers });
      return { status: res.status, body: (await res.json()) as Record<string, unknown>, at: Date.now() };
    });
    // The polls are waiting once the server has had time to subscribe them.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const signalledAt = Date.now();
    const exit = await hs.stop('SIGTERM');
    const answers = await Promise.all(polls);
    expect(exit).toEqual({ code: 0, signal: null });
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.body['next_batch']).toEqual(expect.any(String));
    }
    // Long before the polls' 60 s timeout: they were released, not waited out (the exit
    // within the 10 s grace period above says the same for the whole drain).
    expect(Math.max(...answers.map((answer) => answer.at)) - signalledAt).toBeLessThan(30_000);
  });

  it('stops cleanly when SIGTERM arrives while it is still starting', async () => {
    const hs = await startHomeserver({}, { waitFor: 'cache ready' });
    hs.child.kill('SIGTERM');
    const exit = await hs.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    const messages = hs.logs.map((l) => l['msg']);
    expect(messages).toEqual(expect.arrayContaining(['homeserver ready', 'shutting down: draining requests', 'shutdown complete']));
  });
});
