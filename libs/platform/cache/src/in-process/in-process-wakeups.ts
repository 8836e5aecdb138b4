import type { KeySpace } from '../keys';
import { isolateListener } from '../logger';
import type { CacheLogger, Unsubscribe, WakeupListener, Wakeups } from '../ports';
import { CacheClosedError } from '../validation';
import type { HubSubscription, InProcessBackend } from './in-process-backend';

/** Wake-ups through the backend's in-memory hub (embedded mode). */
export class InProcessWakeups implements Wakeups {
  private readonly mine = new Set<HubSubscription>();
  private closed = false;

  constructor(
    private readonly backend: InProcessBackend,
    private readonly keys: KeySpace,
    private readonly logger: CacheLogger,
  ) {}

  async publish(channel: string, payload: string): Promise<void> {
    this.assertOpen();
    this.backend.publish(this.keys.channel(channel), payload, channel);
  }

  async subscribe(channel: string, listener: WakeupListener): Promise<Unsubscribe> {
    this.assertOpen();
    const subscription: HubSubscription = {
      channel: this.keys.channel(channel),
      deliver: isolateListener(listener, this.logger),
      active: true,
    };
    this.backend.addSubscription(subscription);
    this.mine.add(subscription);
    return async () => {
      this.mine.delete(subscription);
      this.backend.removeSubscription(subscription);
    };
  }

  close(): void {
    this.closed = true;
    for (const subscription of this.mine) this.backend.removeSubscription(subscription);
    this.mine.clear();
  }

  private assertOpen(): void {
    if (this.closed) throw new CacheClosedError('in-process wake-ups');
  }
}
