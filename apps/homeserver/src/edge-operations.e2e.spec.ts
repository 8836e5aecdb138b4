import { startHomeserver, type HomeserverProcess } from '@axon/testing';

type Json = Record<string, unknown>;

const V3 = '/_matrix/client/v3';

/**
 * Rate limits answer with the `Retry-After` header the spec recommends, and the probes
 * and metrics can be served on a listener of their own, away from clients.
 */
describe('rate limits and the metrics listener', () => {
  let hs: HomeserverProcess;
  let metricsUrl: string;

  beforeAll(async () => {
    hs = await startHomeserver({ AXON_METRICS_LISTEN: '127.0.0.1:0' });
    const ready = hs.logs.find((line) => line['msg'] === 'homeserver ready');
    metricsUrl = `http://${String(ready?.['metrics'])}`;
  }, 60_000);

  afterAll(async () => {
    await hs?.stop();
  });

  it('answers 429 with Retry-After in seconds, rounded up from retry_after_ms', async () => {
    let limited: Response | undefined;
    for (let attempt = 0; attempt < 10 && limited === undefined; attempt++) {
      const res = await fetch(`${hs.baseUrl}${V3}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'm.login.password', identifier: { type: 'm.id.user', user: 'nobody' }, password: 'wrong' }),
      });
      if (res.status === 429) limited = res;
      else await res.text();
    }
    expect(limited?.status).toBe(429);
    const body = (await limited!.json()) as { errcode: string; retry_after_ms: number };
    expect(body.errcode).toBe('M_LIMIT_EXCEEDED');
    expect(limited!.headers.get('retry-after')).toBe(String(Math.ceil(body.retry_after_ms / 1000)));
  });

  it('serves /metrics, /ready and /health on the metrics listener only', async () => {
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    for (const path of ['/metrics', '/ready', '/health']) {
      expect([path, (await fetch(`${metricsUrl}${path}`)).status]).toEqual([path, 200]);
      const client = await fetch(`${hs.baseUrl}${path}`);
      expect([path, client.status, ((await client.json()) as Json)['errcode']]).toEqual([path, 404, 'M_UNRECOGNIZED']);
    }
    expect(await (await fetch(`${metricsUrl}/metrics`)).text()).toContain('hs_homeserver_http_request_duration_seconds');
    expect((await fetch(`${metricsUrl}/_matrix/client/versions`)).status).toBe(404);
  });
});
