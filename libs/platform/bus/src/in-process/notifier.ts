/**
 * Wakes the consumers of a topic right after a publish commits, so delivery has no
 * polling delay. In-process only; subscriptions also poll as a fallback (a publish from
 * another process sharing the Postgres database, a missed wake-up).
 */
export class PublishNotifier {
  private readonly listeners = new Map<string, Set<(partitions: readonly number[]) => void>>();

  listen(topic: string, listener: (partitions: readonly number[]) => void): () => void {
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

  notify(topic: string, partitions: readonly number[]): void {
    for (const listener of this.listeners.get(topic) ?? []) listener(partitions);
  }
}
