import 'reflect-metadata';
import { Writable } from 'node:stream';
import { Body, Controller, Get, Module, Param, Post, Put, Query } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { MatrixError, limitExceeded } from '@axon/matrix-errors';
import { ContentBody } from './content-body';
import { createLogger, Metrics } from '@axon/platform-telemetry';
import { createHttpApp, listen, rewriteLegacyClientPath } from './http-app';

@Controller('t')
class ProbeController {
  @Post('echo')
  echo(@Body() body: unknown): unknown {
    return { got: body };
  }

  @Put('content')
  @ContentBody()
  content(@Body() body: unknown): unknown {
    return { got: body };
  }

  @Get('users/:userId/things/:thing')
  thing(@Param('userId') userId: string, @Param('thing') thing: string, @Query() query: unknown): unknown {
    return { userId, thing, query };
  }

  @Get('limited')
  limited(): never {
    throw limitExceeded(1500);
  }

  @Get('forbidden')
  forbidden(): never {
    throw new MatrixError('M_FORBIDDEN', 'You are not invited to this room.', 403, { extra: 1 });
  }

  @Get('rooms/:roomId/state')
  state(): unknown {
    return {};
  }

  @Get('crash')
  crash(): never {
    throw new Error('database password is hunter2');
  }
}

@Module({ controllers: [ProbeController] })
class ProbeModule {}

/** The HTTP edge every service shares: Matrix-shaped errors for every failure. */
describe('createHttpApp', () => {
  let app: NestFastifyApplication;
  let base: string;
  const lines: string[] = [];
  const metrics = new Metrics('httptest');

  beforeAll(async () => {
    const logger = createLogger({
      level: 'warn',
      service: 'http-test',
      destination: new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) }),
    });
    app = await createHttpApp(ProbeModule, { logger, metrics, bodyLimit: 1024 });
    base = `http://127.0.0.1:${await listen(app, '127.0.0.1', 0)}`;
  });
  afterAll(async () => {
    await app.close();
  });

  const post = (body: string, contentType = 'application/json') =>
    fetch(`${base}/t/echo`, { method: 'POST', headers: { 'content-type': contentType }, body });

  it('times requests by route pattern, method and status class, never by raw URL', async () => {
    for (const room of ['!a:x', '!b:x', '!c:x']) expect((await fetch(`${base}/t/rooms/${encodeURIComponent(room)}/state`)).status).toBe(200);
    expect((await fetch(`${base}/t/forbidden`)).status).toBe(403);
    expect((await fetch(`${base}/t/nothing/here/${Date.now()}`)).status).toBe(404);
    const text = (await metrics.render()).body;
    const counts = (labels: string): string | undefined => text.split('\n').find((l) => l.startsWith(`hs_httptest_http_request_duration_seconds_count{${labels}}`))?.split(' ')[1];
    expect(counts('method="GET",route="/t/rooms/:roomId/state",status_class="2xx"')).toBe('3');
    expect(counts('method="GET",route="/t/forbidden",status_class="4xx"')).toBe('1');
    expect(text).not.toMatch(/!a:x|%21a|nothing\/here/);
  });

  it('parses JSON bodies and answers plain application/json', async () => {
    const res = await post('{"a":[1,"x"]}');
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({ got: { a: [1, 'x'] } });
  });

  it('serves the legacy r0 client paths as their v3 endpoints', async () => {
    expect(rewriteLegacyClientPath('/_matrix/client/r0/sync?since=x')).toBe('/_matrix/client/v3/sync?since=x');
    expect(rewriteLegacyClientPath('/_matrix/client/v3/sync')).toBe('/_matrix/client/v3/sync');
    expect(rewriteLegacyClientPath('/_matrix/media/r0/config')).toBe('/_matrix/media/r0/config');
    expect(rewriteLegacyClientPath('/t/r0/')).toBe('/t/r0/');
  });

  it('answers a body that is not UTF-8 with M_NOT_JSON', async () => {
    const res = await fetch(`${base}/t/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { errcode: string }).errcode).toBe('M_NOT_JSON');
  });

  it('answers malformed JSON with M_NOT_JSON', async () => {
    const res = await post('{"a":');
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ errcode: 'M_NOT_JSON', error: expect.stringMatching(/^Content not JSON/) });
  });

  it('keeps "__proto__" in a body as data and accepts an empty JSON body', async () => {
    const res = await post('{"__proto__":{"x":1},"k":"v"}');
    expect(await res.json()).toEqual({ got: JSON.parse('{"__proto__":{"x":1},"k":"v"}') });
    expect(({} as Record<string, unknown>)['x']).toBeUndefined();
    expect((await post('')).status).toBe(201);
  });

  it('answers an oversized body with M_TOO_LARGE', async () => {
    const res = await post(JSON.stringify({ big: 'x'.repeat(2048) }));
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ errcode: 'M_TOO_LARGE' });
  });

  it('answers a malformed URL with a Matrix error', async () => {
    const res = await fetch(`${base}/t/%`);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ errcode: 'M_UNRECOGNIZED' });
  });

  it('passes MatrixError through with its status and extras', async () => {
    const res = await fetch(`${base}/t/forbidden`);
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ errcode: 'M_FORBIDDEN', error: 'You are not invited to this room.', extra: 1 });
  });

  it('hides unexpected errors behind M_UNKNOWN and logs them without secrets', async () => {
    const res = await fetch(`${base}/t/crash`);
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ errcode: 'M_UNKNOWN', error: 'Internal server error' });
    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['msg'] === 'unhandled error');
    expect(logged).toMatchObject({ level: 'error', err: { type: 'Error' } });
  });

  it('parses a body as JSON whatever its Content-Type says, or without one', async () => {
    expect(await (await post('{"a":1}', 'text/plain')).json()).toEqual({ got: { a: 1 } });
    const res = await fetch(`${base}/t/echo`, { method: 'POST', body: new Uint8Array(Buffer.from('{"b":2}')) });
    expect(await res.json()).toEqual({ got: { b: 2 } });
  });

  it('takes U+0000 in content bodies only, and refuses bodies that are not objects', async () => {
    expect(await (await post('{"a":"\\u0000"}')).json()).toMatchObject({ errcode: 'M_BAD_JSON' });
    const content = await fetch(`${base}/t/content`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"a":"\\u0000"}' });
    expect(await content.json()).toEqual({ got: { a: '\u0000' } });
    expect(await (await post('null')).json()).toMatchObject({ errcode: 'M_BAD_JSON' });
  });

  it('routes parameters of any length and checks them against the grammar of their name', async () => {
    const user = (localpart: string) => encodeURIComponent(`@${localpart}:x`);
    const ok = await fetch(`${base}/t/users/${user('u'.repeat(252))}/things/${'t'.repeat(255)}?limit=5`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ thing: 't'.repeat(255), query: { limit: '5' } });
    for (const path of [`users/${user('u'.repeat(253))}/things/t`, `users/${user('u')}/things/${'t'.repeat(256)}`, `users/nobody/things/t`, `users/${user('u')}/things/a%00`]) {
      const res = await fetch(`${base}/t/${path}`);
      expect([path.slice(0, 40), res.status, ((await res.json()) as { errcode: string }).errcode]).toEqual([path.slice(0, 40), 400, 'M_INVALID_PARAM']);
    }
    for (const query of ['limit=x', 'limit=9007199254740992', 'limit=1&limit=2', 'full_state=yes', 'since=%00']) {
      expect([query, (await fetch(`${base}/t/users/${user('u')}/things/t?${query}`)).status]).toEqual([query, 400]);
    }
    expect((await fetch(`${base}/t/users/${user('u')}/things/t?via=a&via=b`)).status).toBe(200);
  });

  it('answers a rate limit with Retry-After, in seconds rounded up', async () => {
    const res = await fetch(`${base}/t/limited`);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(await res.json()).toEqual({ errcode: 'M_LIMIT_EXCEEDED', error: 'Too many requests', retry_after_ms: 1500 });
  });

  it('answers 405 for a known path with the wrong method, 404 otherwise', async () => {
    expect((await fetch(`${base}/t/forbidden`, { method: 'DELETE' })).status).toBe(405);
    expect(await (await fetch(`${base}/t/nothing`)).json()).toEqual({ errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' });
  });
});
