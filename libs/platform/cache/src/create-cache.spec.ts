import { createCache } from './create-cache';
import { getJson, getOrLoadJson, setJson } from './json-cache';
import { LoadCoalescer } from './load-coalescer';
import { isolateListener, processWarningLogger } from './logger';
import { describeRedisUrl } from './redis/redis-connection';
import { RecordingLogger } from './testing/contract-support';

describe('createCache', () => {
  it('is in-process without a Redis URL', async () => {
    const inProcess = createCache();
    expect(inProcess.kind).toBe('in-process');
    await inProcess.close();
  });

  it('refuses a Redis URL it cannot use rather than falling back to in-process', () => {
    for (const redisUrl of ['', '127.0.0.1:6379', 'http://127.0.0.1:6379']) {
      expect(() => createCache({ redisUrl })).toThrow(/redis:\/\//);
    }
  });

  // Port 1 on loopback refuses connections at once: no Redis needed.
  it('reports an unreachable Redis through ready(), ping() and the logger, and still closes', async () => {
    const logger = new RecordingLogger();
    const client = createCache({
      redisUrl: 'redis://:secret@127.0.0.1:1',
      logger,
      redis: { connectTimeoutMs: 200, commandTimeoutMs: 200, readyTimeoutMs: 300 },
    });
    expect(client.kind).toBe('redis');

    await expect(client.ready()).rejects.toThrow(/Redis (command|subscriber) connection to redis:\/\/:\*\*\*@127\.0\.0\.1:1 not ready after 300 ms: .*ECONNREFUSED/);
    await expect(client.ping()).rejects.toThrow();
    await expect(client.rateLimiter.consume('k', { perSecond: 1, burst: 1 })).rejects.toThrow();
    expect(logger.warnings.map((w) => w.msg)).toContain('Redis connection error');
    expect(JSON.stringify(logger.warnings.map((w) => w.obj))).not.toContain('secret');

    await client.close();
    await expect(client.ping()).rejects.toThrow(/closed/);
    expect(logger.warnings.map((w) => w.msg)).not.toContain('Redis connection did not end after close');
  });
});

describe('describeRedisUrl', () => {
  it('hides the password', () => {
    expect(describeRedisUrl('redis://user:hunter2@cache:6379/0')).toBe('redis://user:***@cache:6379/0');
    expect(describeRedisUrl('not a url')).toBe('<unparseable Redis URL>');
  });
});

describe('LoadCoalescer', () => {
  it('recovers from work that throws before its first await', async () => {
    const loads = new LoadCoalescer<string>();
    await expect(
      loads.run('k', () => {
        throw new Error('synchronous');
      }),
    ).rejects.toThrow('synchronous');
    await expect(loads.run('k', async () => 'second try')).resolves.toBe('second try');
  });
});

describe('isolateListener', () => {
  it('reports through process warnings when the caller gave no logger', () => {
    const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      isolateListener(() => {
        throw new Error('boom');
      }, processWarningLogger)('payload', 'room');
      expect(emitWarning).toHaveBeenCalledWith('wake-up listener failed: boom', {
        type: 'AxonCacheWarning',
        detail: '{"channel":"room"}',
      });
    } finally {
      emitWarning.mockRestore();
    }
  });
});

describe('JSON helpers', () => {
  const parseProfile = (value: unknown): { displayname: string } => {
    if (typeof value === 'object' && value !== null && typeof (value as Record<string, unknown>)['displayname'] === 'string') {
      return value as { displayname: string };
    }
    throw new TypeError('not a profile');
  };

  it('round-trips values and validates what comes back', async () => {
    const client = createCache();
    try {
      await setJson(client.cache, 'p', { displayname: 'Alice' }, 60_000);
      expect(await getJson(client.cache, 'p', parseProfile)).toEqual({ displayname: 'Alice' });
      await client.cache.set('bad', '{"displayname":3}', 60_000);
      await expect(getJson(client.cache, 'bad', parseProfile)).rejects.toThrow('not a profile');
      expect(await getOrLoadJson(client.cache, 'q', 60_000, parseProfile, async () => ({ displayname: 'Bob' }))).toEqual({
        displayname: 'Bob',
      });
      expect(await client.cache.get('q')).toBe('{"displayname":"Bob"}');
    } finally {
      await client.close();
    }
  });
});
