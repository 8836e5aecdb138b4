import { readFile, unwatchFile, watchFile, type Stats } from 'node:fs';
import * as grpc from '@grpc/grpc-js';

type GrpcUri = grpc.experimental.GrpcUri;

/**
 * How often a `file:` target's file is checked for changes (a stat). The launcher
 * replaces the file when it adds or removes a replica; a new replica then gets calls
 * within this time, a removed one gets none after it (its calls in flight finish, and a
 * call that finds it gone is retried on another).
 */
const CHECK_INTERVAL_MS = 250;

/** `host:port` and `[v6]:port` lines; blank lines and `#` comments are skipped. */
export function parseTargetsFile(text: string): Array<{ host: string; port: number }> {
  const addresses: Array<{ host: string; port: number }> = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(line);
    const port = match === null ? NaN : Number(match[3]);
    if (match === null || port < 1 || port > 65_535) throw new Error(`not a host:port line: ${JSON.stringify(line)}`);
    addresses.push({ host: match[1] ?? match[2]!, port });
  }
  return addresses;
}

/**
 * The gRPC name resolver for `file:///absolute/path` targets: the addresses are the
 * file's `host:port` lines, and the channel follows the file as it changes (the local
 * launcher's replica registry: `deploy/local` rewrites it when it scales a service). A
 * file that is missing, unreadable or lists no address resolves to an error, so calls
 * fail UNAVAILABLE (and are retried) until it lists one again.
 */
class FileResolver implements grpc.experimental.Resolver {
  private readonly path: string;
  private watching = false;
  private lastText: string | undefined;
  private reading = false;

  constructor(
    target: GrpcUri,
    private readonly listener: grpc.experimental.ResolverListener,
  ) {
    // `file:///a/b` parses as authority '' and path 'a/b'.
    this.path = target.path.startsWith('/') ? target.path : `/${target.path}`;
  }

  /** The `:authority` of calls: a host name, which a file path is not. */
  static getDefaultAuthority(): string {
    return 'localhost';
  }

  updateResolution(): void {
    if (!this.watching) {
      this.watching = true;
      watchFile(this.path, { interval: CHECK_INTERVAL_MS, persistent: false }, this.onChange);
    }
    // A re-resolution (a connection closed) re-reports the file even if it did not change.
    this.lastText = undefined;
    this.read();
  }

  destroy(): void {
    if (this.watching) unwatchFile(this.path, this.onChange);
    this.watching = false;
  }

  private readonly onChange = (current: Stats, previous: Stats): void => {
    if (current.mtimeMs !== previous.mtimeMs || current.ino !== previous.ino || current.size !== previous.size) this.read();
  };

  private read(): void {
    if (this.reading) return;
    this.reading = true;
    readFile(this.path, 'utf8', (error, text) => {
      this.reading = false;
      if (!this.watching) return;
      if (error !== null) {
        this.report(grpc.experimental.statusOrFromError({ code: grpc.status.UNAVAILABLE, details: `cannot read ${this.path}: ${error.code ?? error.message}` }), `read ${this.path}`);
        return;
      }
      if (text === this.lastText) return;
      this.lastText = text;
      let addresses: Array<{ host: string; port: number }>;
      try {
        addresses = parseTargetsFile(text);
      } catch (parseError) {
        this.report(grpc.experimental.statusOrFromError({ code: grpc.status.UNAVAILABLE, details: `${this.path}: ${(parseError as Error).message}` }), 'parse');
        return;
      }
      if (addresses.length === 0) {
        this.report(grpc.experimental.statusOrFromError({ code: grpc.status.UNAVAILABLE, details: `${this.path} lists no address` }), 'empty');
        return;
      }
      this.report(grpc.experimental.statusOrFromValue(addresses.map((address) => ({ addresses: [address] }))), '');
    });
  }

  private report(endpoints: Parameters<grpc.experimental.ResolverListener>[0], note: string): void {
    this.listener(endpoints, {}, null, note);
  }
}

let registered = false;

/** Makes `file:///path` targets resolvable by every channel of this process. Idempotent. */
export function registerFileResolver(): void {
  if (registered) return;
  registered = true;
  grpc.experimental.registerResolver('file', FileResolver);
}
