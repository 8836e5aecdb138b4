import { Redis } from 'ioredis';
import type { CacheLogger } from '../ports';

/** How long close() waits for the socket to end before giving up. */
const CLOSE_WAIT_MS = 2_000;

export type ConnectionRole = 'command' | 'subscriber';

export interface RedisConnectionOptions {
  readonly url: string;
  readonly role: ConnectionRole;
  readonly connectionName: string;
  readonly connectTimeoutMs: number;
  readonly commandTimeoutMs: number;
  readonly logger: CacheLogger;
}

/**
 * One ioredis connection plus what readiness checks need: the last connection error (so
 * `ready()` can say why it is not ready) and a graceful close.
 *
 * ioredis reconnects on its own and queues commands while offline; every command still
 * fails after `commandTimeoutMs`, so a Redis outage turns into errors the caller sees
 * instead of requests that hang.
 */
export class RedisConnection {
  readonly redis: Redis;
  private lastError: Error | undefined;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: RedisConnectionOptions) {
    this.redis = new Redis(options.url, {
      connectionName: options.connectionName,
      connectTimeout: options.connectTimeoutMs,
      commandTimeout: options.commandTimeoutMs,
      lazyConnect: false,
      // After disconnect() ioredis waits this long for the socket's 'close' before
      // destroying it. Closing between reconnect attempts, the socket is already closed and
      // that event never comes, so the default (2 s) only keeps a shutting-down process
      // alive; a socket we have ended has nothing left worth waiting for.
      disconnectTimeout: 100,
    });
    this.redis.on('error', (err: Error) => this.onError(err));
    this.redis.on('ready', () => {
      this.lastError = undefined;
    });
  }

  get role(): ConnectionRole {
    return this.options.role;
  }

  /** Resolves when the connection is ready; rejects after `timeoutMs` with the reason. */
  ready(timeoutMs: number): Promise<void> {
    if (this.redis.status === 'ready') return Promise.resolve();
    if (this.redis.status === 'end') return Promise.reject(this.closedError());
    return new Promise<void>((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer);
        this.redis.off('ready', onReady);
        this.redis.off('end', onEnd);
      };
      const onReady = (): void => {
        cleanup();
        resolve();
      };
      const onEnd = (): void => {
        cleanup();
        reject(this.closedError());
      };
      const timer = setTimeout(() => {
        cleanup();
        const reason = this.lastError === undefined ? '' : `: ${this.lastError.message}`;
        reject(
          new Error(
            `Redis ${this.role} connection to ${describeRedisUrl(this.options.url)} not ready after ${timeoutMs} ms${reason}`,
            { cause: this.lastError },
          ),
        );
      }, timeoutMs);
      this.redis.once('ready', onReady);
      this.redis.once('end', onEnd);
    });
  }

  /** QUIT when connected (lets Redis finish replies in flight), otherwise disconnect. */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    const status = this.redis.status;
    if (status === 'end') return;
    if (status === 'reconnecting') {
      // Between reconnect attempts there is no socket: cancelling the retry timer is all
      // there is to close, and ioredis will not emit 'end' for it.
      this.redis.disconnect();
      return;
    }
    const ended = new Promise<void>((resolve) => this.redis.once('end', () => resolve()));
    if (status === 'ready') {
      try {
        await this.redis.quit();
      } catch (err) {
        this.options.logger.warn({ err, connection: this.role }, 'Redis QUIT failed; disconnecting');
        this.redis.disconnect();
      }
    } else {
      this.redis.disconnect();
    }
    // Wait for the socket to be gone so that callers (and test runners) see no open handle;
    // bounded, so that a close never hangs a shutdown.
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), CLOSE_WAIT_MS);
    });
    const outcome = await Promise.race([ended.then(() => 'ended' as const), gaveUp]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.options.logger.warn({ connection: this.role, status: this.redis.status }, 'Redis connection did not end after close');
    }
  }

  private onError(err: Error): void {
    // ioredis reports every failed reconnect attempt; log when the reason changes only.
    if (this.lastError?.message !== err.message) {
      this.options.logger.warn({ err, connection: this.role, url: describeRedisUrl(this.options.url) }, 'Redis connection error');
    }
    this.lastError = err;
  }

  private closedError(): Error {
    return new Error(`Redis ${this.role} connection to ${describeRedisUrl(this.options.url)} is closed`, {
      cause: this.lastError,
    });
  }
}

/** The URL without its password, for messages and logs. */
export function describeRedisUrl(url: string): string {
  if (!URL.canParse(url)) return '<unparseable Redis URL>';
  const parsed = new URL(url);
  if (parsed.password !== '') parsed.password = '***';
  return parsed.toString();
}
