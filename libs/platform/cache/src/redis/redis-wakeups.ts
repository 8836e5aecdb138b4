import type { Redis } from 'ioredis';
import type { KeySpace } from '../keys';
import { isolateListener } from '../logger';
import type { CacheLogger, Unsubscribe, WakeupListener, Wakeups } from '../ports';
import { CacheClosedError } from '../validation';

interface Delivery {
  readonly deliver: (payload: string, channel: string) => void;
}

interface ChannelEntry {
  readonly listeners: Set<Delivery>;
  /** Settles when Redis has acknowledged the SUBSCRIBE for this entry. */
  readonly subscribed: Promise<void>;
}

/**
 * Wake-ups over Redis pub/sub.
 *
 * A connection in subscriber mode can run nothing but (un)subscribe commands, so PUBLISH
 * goes through the shared command connection while one dedicated subscriber connection
 * carries every channel of this client. Redis sees each channel once per client however
 * many local listeners it has: the first listener sends SUBSCRIBE, the last one leaving
 * sends UNSUBSCRIBE. Commands on one connection are handled in order, so an UNSUBSCRIBE
 * followed by a fresh SUBSCRIBE for the same channel always ends subscribed.
 *
 * ioredis re-subscribes after a reconnect; messages published while disconnected are
 * lost, which is why wake-ups are hints (see the `Wakeups` port).
 */
export class RedisWakeups implements Wakeups {
  private readonly channels = new Map<string, ChannelEntry>();
  private readonly channelPrefix: string;
  private closed = false;
  private readonly onMessage = (channel: string, payload: string): void => this.dispatch(channel, payload);

  constructor(
    private readonly command: Redis,
    private readonly subscriber: Redis,
    private readonly keys: KeySpace,
    private readonly logger: CacheLogger,
  ) {
    this.channelPrefix = keys.channel('');
    subscriber.on('message', this.onMessage);
  }

  async publish(channel: string, payload: string): Promise<void> {
    this.assertOpen();
    await this.command.publish(this.keys.channel(channel), payload);
  }

  async subscribe(channel: string, listener: WakeupListener): Promise<Unsubscribe> {
    this.assertOpen();
    const fullChannel = this.keys.channel(channel);
    const delivery: Delivery = { deliver: isolateListener(listener, this.logger) };
    let entry = this.channels.get(fullChannel);
    if (entry === undefined) {
      entry = { listeners: new Set(), subscribed: this.subscriber.subscribe(fullChannel).then(() => undefined) };
      this.channels.set(fullChannel, entry);
    }
    entry.listeners.add(delivery);
    try {
      await entry.subscribed;
    } catch (err) {
      await this.removeListener(fullChannel, entry, delivery);
      throw new Error(`Redis SUBSCRIBE ${fullChannel} failed`, { cause: err });
    }
    const subscribedEntry = entry;
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      await this.removeListener(fullChannel, subscribedEntry, delivery);
    };
  }

  close(): void {
    this.closed = true;
    this.channels.clear();
    this.subscriber.off('message', this.onMessage);
  }

  private async removeListener(fullChannel: string, entry: ChannelEntry, delivery: Delivery): Promise<void> {
    entry.listeners.delete(delivery);
    if (entry.listeners.size > 0 || this.channels.get(fullChannel) !== entry) return;
    this.channels.delete(fullChannel);
    if (this.closed) return;
    try {
      await this.subscriber.unsubscribe(fullChannel);
    } catch (err) {
      // Delivery has already stopped locally (the entry is gone); a Redis subscription left
      // behind costs only bandwidth until the next reconnect, so record it, do not fail the
      // caller (typically a long-poll's cleanup path).
      this.logger.warn({ err, channel: fullChannel }, 'Redis UNSUBSCRIBE failed');
    }
  }

  private dispatch(fullChannel: string, payload: string): void {
    const entry = this.channels.get(fullChannel);
    if (entry === undefined) return;
    const channel = fullChannel.slice(this.channelPrefix.length);
    for (const delivery of [...entry.listeners]) delivery.deliver(payload, channel);
  }

  private assertOpen(): void {
    if (this.closed) throw new CacheClosedError('Redis wake-ups');
  }
}
