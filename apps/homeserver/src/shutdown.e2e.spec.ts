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

  it('stops cleanly when SIGTERM arrives while it is still starting', async () => {
    const hs = await startHomeserver({}, { waitFor: 'cache ready' });
    hs.child.kill('SIGTERM');
    const exit = await hs.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    const messages = hs.logs.map((l) => l['msg']);
    expect(messages).toEqual(expect.arrayContaining(['homeserver ready', 'shutting down: draining requests', 'shutdown complete']));
  });
});
