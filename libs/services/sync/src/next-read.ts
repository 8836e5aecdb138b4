/**
 * A read shared by concurrent callers, never older than the call: a caller that comes
 * while a read runs is given the next read, which starts when that one ends (the running
 * one may have started before a change the caller must see). Under a burst that is about
 * two reads in flight instead of one per caller, and a lone caller waits for nothing. The
 * value is shared: callers only read it.
 */
export class NextRead<T> {
  private running: Promise<T> | undefined;
  private following: Promise<T> | undefined;

  constructor(private readonly read: () => Promise<T>) {}

  get(): Promise<T> {
    if (this.running === undefined) return this.start();
    this.following ??= this.running.then(
      () => this.startFollowing(),
      () => this.startFollowing(),
    );
    return this.following;
  }

  private startFollowing(): Promise<T> {
    this.following = undefined;
    return this.start();
  }

  private start(): Promise<T> {
    const read = this.read();
    this.running = read;
    const done = (): void => {
      if (this.running === read) this.running = undefined;
    };
    read.then(done, done);
    return read;
  }
}
