import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * Listening ports for test deployments, chosen below the kernel's ephemeral range.
 *
 * A port found by binding port 0 comes from the ephemeral range
 * (`net.ipv4.ip_local_port_range`, 32768–60999 by default), the same range the kernel
 * draws from for the local end of every outgoing connection. Between the moment the
 * harness picks such a port and the moment the service listens on it (seconds, while
 * the first room server starts; or a whole suite, for a process restarted on its old
 * port), any connection to Postgres, Kafka or Redis may take it, and the service dies
 * with EADDRINUSE. Ports below that range are never handed out implicitly, so only an
 * explicit listener can hold one: the allocator checks each by binding it, never hands
 * out one port twice in a process, and gives each Jest worker its own slice so that
 * parallel workers do not pick the same port between check and use.
 */
export class PortAllocator {
  private readonly handedOut = new Set<number>();
  private next: number;

  constructor(
    private readonly from: number,
    private readonly to: number,
  ) {
    if (!(Number.isInteger(from) && Number.isInteger(to) && from >= 1024 && to >= from && to <= 65535)) {
      throw new Error(`bad port range ${from}-${to}`);
    }
    this.next = from + Math.floor(Math.random() * (to - from + 1));
  }

  /** A port of the range nobody listens on (checked on `host`), not handed out before by this allocator. */
  async take(host = '127.0.0.1'): Promise<number> {
    const size = this.to - this.from + 1;
    for (let tried = 0; tried < size; tried++) {
      const port = this.next;
      this.next = port === this.to ? this.from : port + 1;
      if (this.handedOut.has(port)) continue;
      if (await canListen(port, host)) {
        this.handedOut.add(port);
        return port;
      }
    }
    throw new Error(`no free port left in ${this.from}-${this.to}`);
  }
}

function canListen(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** The lowest port of the kernel's ephemeral range (32768 when it cannot be read). */
export function ephemeralPortsFrom(rangeFile = '/proc/sys/net/ipv4/ip_local_port_range'): number {
  try {
    const low = Number(readFileSync(rangeFile, 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 1024 ? low : 32768;
  } catch {
    return 32768;
  }
}

/** Where test ports start: above the well-known service ports (Postgres, Redis, Kafka, 8008, 8448). */
const LOWEST = 20000;
const WORKER_SLICES = 8;

/**
 * A process's slice of [20000, start of the ephemeral range): one of eight, by Jest
 * worker id (the first when not run by Jest); everything below the ephemeral range when
 * that starts too low to split.
 */
export function testPortRange(workerId: string | undefined, ephemeralFrom: number): [number, number] {
  const span = ephemeralFrom - LOWEST;
  if (span < WORKER_SLICES * 64) return [1024, Math.max(1024, ephemeralFrom - 1)];
  const size = Math.floor(span / WORKER_SLICES);
  const slice = (Math.max(1, Number(workerId) || 1) - 1) % WORKER_SLICES;
  return [LOWEST + slice * size, LOWEST + (slice + 1) * size - 1];
}

let allocator: PortAllocator | undefined;

/** A free TCP port on 127.0.0.1 for a test service to listen on (see `PortAllocator`). */
export function freePort(): Promise<number> {
  allocator ??= new PortAllocator(...testPortRange(process.env['JEST_WORKER_ID'], ephemeralPortsFrom()));
  return allocator.take();
}
