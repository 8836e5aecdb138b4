import { specErrors, startHomeserver, type HomeserverProcess } from '@axon/testing';

describe('homeserver on embedded defaults', () => {
  let hs: HomeserverProcess;

  beforeAll(async () => {
    hs = await startHomeserver({ AXON_SERVER_NAME: 'example.test' });
  });
  afterAll(async () => {
    await hs.stop();
  });

  it('answers GET /_matrix/client/versions with a spec-valid body', async () => {
    const res = await fetch(`${hs.baseUrl}/_matrix/client/versions`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await res.json()) as { versions: string[] };
    expect(specErrors('client-server', 'GET /_matrix/client/versions 200', body)).toEqual([]);
    expect(body.versions).toContain('v1.19');
  });

  it('serves both .well-known documents, spec-valid', async () => {
    const client = (await (await fetch(`${hs.baseUrl}/.well-known/matrix/client`)).json()) as Record<string, { base_url: string }>;
    expect(specErrors('client-server', 'GET /.well-known/matrix/client 200', client)).toEqual([]);
    expect(client['m.homeserver']?.base_url).toBe(`http://127.0.0.1:${hs.port}`);
    const server = await (await fetch(`${hs.baseUrl}/.well-known/matrix/server`)).json();
    expect(specErrors('server-server', 'GET /.well-known/matrix/server 200', server)).toEqual([]);
    // The port the federation listener listens on (startHomeserver picks a free one).
    expect(hs.federationPort).toBeGreaterThan(0);
    expect(server).toEqual({ 'm.server': `example.test:${hs.federationPort}` });
  });

  it('answers unknown endpoints with M_UNRECOGNIZED 404, and wrong methods with 405', async () => {
    const missing = await fetch(`${hs.baseUrl}/_matrix/client/v3/no_such_endpoint`);
    expect(missing.status).toBe(404);
    const body = await missing.json();
    expect(body).toEqual({ errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' });
    expect(specErrors('client-server', 'Error', body)).toEqual([]);

    const wrongMethod = await fetch(`${hs.baseUrl}/_matrix/client/versions`, { method: 'POST', body: '{}' });
    expect(wrongMethod.status).toBe(405);
    expect(await wrongMethod.json()).toMatchObject({ errcode: 'M_UNRECOGNIZED' });
  });

  it('answers CORS preflights on any path', async () => {
    const res = await fetch(`${hs.baseUrl}/_matrix/client/v3/login`, { method: 'OPTIONS' });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-headers')).toContain('Authorization');
  });

  it('reports liveness, readiness with its checks, and Prometheus metrics', async () => {
    expect(await (await fetch(`${hs.baseUrl}/health`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${hs.baseUrl}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { database: 'ok' } });
    const metrics = await (await fetch(`${hs.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(
      /hs_homeserver_http_request_duration_seconds_count\{method="GET",route="\/_matrix\/client\/versions",status_class="2xx"\} [1-9]/,
    );
  });

  it('writes structured JSON logs', () => {
    const ready = hs.logs.find((l) => l['msg'] === 'homeserver ready');
    expect(ready).toMatchObject({ level: 'info', server_name: 'example.test' });
    expect(hs.logs.every((l) => !('unparsed' in l))).toBe(true);
  });

  it('turns /metrics off when configured to', async () => {
    const quiet = await startHomeserver({ AXON_METRICS_ENABLED: 'false' });
    try {
      const res = await fetch(`${quiet.baseUrl}/metrics`);
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ errcode: 'M_UNRECOGNIZED' });
    } finally {
      await quiet.stop();
    }
  });
});
