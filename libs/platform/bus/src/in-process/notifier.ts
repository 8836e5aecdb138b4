/** Called with the partitions a publish wrote, each with its head after it (one past its last offset). */
export type PublishListener = (heads: ReadonlyMap<number, bigint>) => void;

/**
 * Wakes the consumers of a topic right after a publish commits, so delivery has no
 * polling delay. In-process only; subscriptions also poll as a fallback (a publish from
 * another process sharing the Postgres database, a missed wake-up).
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

  /** `heads`: each partition written, with its head after the publish (one past its last offset). */
  notify(topic: string, heads: ReadonlyMap<number, bigint>): void {
    for (const listener of this.listeners.get(topic) ?? []) listener(heads);
  }
}
