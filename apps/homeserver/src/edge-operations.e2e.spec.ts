import { startHomeserver, type HomeserverProcess } from '@axon/testing';

const V3 = '/_matrix/client/v3';

/** Rate limits answer with the `Retry-After` header the spec recommends. */
describe('rate limits', () => {
  let hs: HomeserverProcess;

  beforeAll(async () => {
    hs = await startHomeserver();
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
});
