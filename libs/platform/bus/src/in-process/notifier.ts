import type { PartitionAppend } from './log-store';

/** Called with the partitions a commit wrote: each one's head after it (one past its last offset) and the messages, as stored. */
export type PublishListener = (appended: ReadonlyMap<number, PartitionAppend>) => void;

/**
 * Hands the consumers of a topic what a publish wrote, right after it commits: they
 * deliver the messages from here without reading them back from the log (and without a
 * polling delay). In-process only; subscriptions fetch from the log whenever a
 * notification does not follow on from where they are (a partition still loading, a
 * fetch in flight, a full buffer), and poll as a fallback.
 */
export class PublishNotifier {
  private readonly listeners = new Map<string, Set<PublishListener>>();

  listen(topic: string, listener: PublishListener): () => void {
    let set = this.listeners.get(topic);
    if (!set) {
      set = new Set();
      this.listeners.set(topic, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(topic);
    };
  }

  notify(topic: string, appended: ReadonlyMap<number, PartitionAppend>): void {
    for (const listener of this.listeners.get(topic) ?? []) listener(appended);
  }
}
