import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PortAllocator, ephemeralPortsFrom, freePort, testPortRange } from './ports';

const listenOn = (port: number): Promise<Server> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
const close = (server: Server): Promise<void> => new Promise((resolve) => server.close(() => resolve()));

describe('test ports', () => {
  it('come from below the ephemeral range, so an outgoing connection can never hold one', async () => {
    const from = ephemeralPortsFrom();
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(1024);
      expect(port).toBeLessThan(from);
    }
    expect(new Set(ports).size).toBe(ports.length);
    // Each one can be listened on.
    for (const port of ports.slice(0, 3)) await close(await listenOn(port));
  });

  it('skip a port something listens on, never hand one out twice, and say when the range is spent', async () => {
    // Three consecutive free ports; then the middle one taken by a listener.
    let base = 0;
    let holder: Server | undefined;
    for (let candidate = 40000; candidate < 41000 && !holder; candidate += 7) {
      const servers = await Promise.allSettled([0, 1, 2].map((i) => listenOn(candidate + i)));
      const held = servers.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
      if (held.length === 3) {
        base = candidate;
        holder = held[1];
        await Promise.all([close(held[0]!), close(held[2]!)]);
      } else {
        await Promise.all(held.map(close));
      }
    }
    expect(holder).toBeDefined();
    try {
      const allocator = new PortAllocator(base, base + 2);
      const taken = [await allocator.take(), await allocator.take()].sort((a, b) => a - b);
      expect(taken).toEqual([base, base + 2]);
      await expect(allocator.take()).rejects.toThrow(`no free port left in ${base}-${base + 2}`);
    } finally {
      await close(holder!);
    }
  });

  it('give each Jest worker its own slice below the ephemeral range', () => {
    const slices = [1, 2, 3, 8, 9].map((worker) => testPortRange(String(worker), 32768));
    expect(slices[0]).toEqual([20000, 21595]);
    expect(slices[1]).toEqual([21596, 23191]);
    expect(slices[3]![1]).toBeLessThan(32768);
    expect(slices[4]).toEqual(slices[0]); // worker 9 wraps to the first slice
    expect(testPortRange(undefined, 32768)).toEqual([20000, 21595]);
    // An ephemeral range starting too low to split: everything below it.
    expect(testPortRange('1', 16000)).toEqual([1024, 15999]);
  });

  it('read where the ephemeral range starts, 32768 when they cannot', () => {
    const dir = mkdtempSync(join(tmpdir(), 'axon-ports-'));
    try {
      writeFileSync(join(dir, 'range'), '49152\t65535\n');
      expect(ephemeralPortsFrom(join(dir, 'range'))).toBe(49152);
      expect(ephemeralPortsFrom(join(dir, 'missing'))).toBe(32768);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuse a range that is not one of unprivileged ports', () => {
    expect(() => new PortAllocator(80, 90)).toThrow('bad port range');
    expect(() => new PortAllocator(30000, 20000)).toThrow('bad port range');
  });
});
