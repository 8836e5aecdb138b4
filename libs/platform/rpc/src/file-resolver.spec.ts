import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTargetsFile } from './file-resolver';
import { createGrpcClient, GrpcChannel } from './grpc-client';
import { GrpcServer } from './grpc-server';
import type { ServiceClient } from './definition';
import { ProbeDefinition } from './testing/generated/axon/rpctest/v1/probe';
import { probeImplementation, ProbeRecorder } from './testing/probe-service';

const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** As the runtime configures its channels: every address in turn, a call that finds a replica gone retried on another. */
const SERVICE_CONFIG = JSON.stringify({
  loadBalancingConfig: [{ round_robin: {} }],
  methodConfig: [{ name: [{}], retryPolicy: { maxAttempts: 4, initialBackoff: '0.05s', maxBackoff: '0.5s', backoffMultiplier: 2, retryableStatusCodes: ['UNAVAILABLE'] } }],
});

describe('parseTargetsFile', () => {
  it('reads host:port lines, skipping blanks and comments', () => {
    expect(parseTargetsFile('# room-server\n127.0.0.1:50061\n\n  localhost:7 # second\n[::1]:50063\n')).toEqual([
      { host: '127.0.0.1', port: 50061 },
      { host: 'localhost', port: 7 },
      { host: '::1', port: 50063 },
    ]);
    expect(parseTargetsFile('')).toEqual([]);
  });

  it('refuses anything else', () => {
    for (const bad of ['127.0.0.1', '127.0.0.1:0', 'a:65536', 'a b:1', 'http://a:1']) expect(() => parseTargetsFile(bad)).toThrow(/host:port/);
  });
});

/** A replica: a gRPC server of the probe service that counts the calls it answered. */
async function replica(options: ConstructorParameters<typeof GrpcServer>[0] = {}): Promise<{ address: string; calls: () => number; server: GrpcServer }> {
  const recorder = new ProbeRecorder();
  let calls = 0;
  recorder.beforeEcho = () => {
    calls++;
  };
  const server = new GrpcServer({ logger: quiet, shutdownTimeoutMs: 2_000, ...options });
  server.add(ProbeDefinition, probeImplementation(recorder));
  const port = await server.listen('127.0.0.1:0');
  return { address: `127.0.0.1:${port}`, calls: () => calls, server };
}

/** Calls `probe` every 10 ms for `ms`; resolves with how many failed (and why). */
async function steadyCalls(probe: ServiceClient<ProbeDefinition>, ms: number): Promise<string[]> {
  const failures: string[] = [];
  const end = Date.now() + ms;
  while (Date.now() < end) {
    await probe.echo({ payload: undefined }).catch((error: unknown) => failures.push(String(error)));
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return failures;
}

describe('file: targets follow their file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'axon-file-resolver-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Replaces the file at once (write then rename), as the launcher does. */
  function register(file: string, addresses: readonly string[]): void {
    writeFileSync(`${file}.tmp`, `${addresses.join('\n')}\n`);
    renameSync(`${file}.tmp`, file);
  }

  it('a replica added to the file gets calls within a second; one removed gets none, and no call fails', async () => {
    const file = join(dir, 'probe.targets');
    const [a, b] = [await replica(), await replica()];
    register(file, [a.address]);
    const channel = new GrpcChannel(`file://${file}`, { channelOptions: { 'grpc.service_config': SERVICE_CONFIG } });
    const probe = createGrpcClient(ProbeDefinition, channel, { deadlineMs: 2_000, logger: quiet });
    try {
      expect(await steadyCalls(probe, 300)).toEqual([]);
      expect(b.calls()).toBe(0);

      register(file, [a.address, b.address]);
      expect(await steadyCalls(probe, 1_000)).toEqual([]);
      const [aBefore, bBefore] = [a.calls(), b.calls()];
      expect(await steadyCalls(probe, 500)).toEqual([]);
      // Both serve now, in turn.
      expect(a.calls() - aBefore).toBeGreaterThan(5);
      expect(b.calls() - bBefore).toBeGreaterThan(5);

      // a leaves the registry, then stops (as the launcher scales it away).
      register(file, [b.address]);
      expect(await steadyCalls(probe, 1_000)).toEqual([]);
      const aAfter = a.calls();
      const stopping = a.server.shutdown();
      expect(await steadyCalls(probe, 500)).toEqual([]);
      await stopping;
      expect(a.calls()).toBe(aAfter);
    } finally {
      channel.close();
      await Promise.all([a.server.shutdown(), b.server.shutdown()]);
    }
  });

  it('a replica stopped before it left the file costs no call either: the call is retried on another', async () => {
    const file = join(dir, 'crash.targets');
    const [a, b] = [await replica(), await replica()];
    register(file, [a.address, b.address]);
    const channel = new GrpcChannel(`file://${file}`, { channelOptions: { 'grpc.service_config': SERVICE_CONFIG } });
    const probe = createGrpcClient(ProbeDefinition, channel, { deadlineMs: 2_000, logger: quiet });
    try {
      expect(await steadyCalls(probe, 300)).toEqual([]);
      const calls = steadyCalls(probe, 1_000);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await a.server.shutdown();
      expect(await calls).toEqual([]);
    } finally {
      channel.close();
      await b.server.shutdown();
    }
  });

  it('a file that lists nothing fails calls UNAVAILABLE until it lists a replica again', async () => {
    const file = join(dir, 'empty.targets');
    const a = await replica();
    register(file, []);
    const channel = new GrpcChannel(`file://${file}`, { channelOptions: { 'grpc.service_config': SERVICE_CONFIG } });
    const probe = createGrpcClient(ProbeDefinition, channel, { deadlineMs: 500, logger: quiet });
    try {
      await expect(probe.echo({ payload: undefined })).rejects.toMatchObject({ message: expect.stringMatching(/unavailable/i) });
      register(file, [a.address]);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(await steadyCalls(probe, 200)).toEqual([]);
    } finally {
      channel.close();
      await a.server.shutdown();
    }
  });
});

describe('max connection age', () => {
  it('servers close old connections and clients reconnect, with no call failing', async () => {
    const a = await replica({ channelOptions: { 'grpc.max_connection_age_ms': 200, 'grpc.max_connection_age_grace_ms': 1_000 } });
    const channel = new GrpcChannel(`dns:///${a.address}`, { channelOptions: { 'grpc.service_config': SERVICE_CONFIG } });
    const probe = createGrpcClient(ProbeDefinition, channel, { deadlineMs: 2_000, logger: quiet });
    try {
      // Across several connection lifetimes.
      expect(await steadyCalls(probe, 1_500)).toEqual([]);
      expect(a.calls()).toBeGreaterThan(50);
    } finally {
      channel.close();
      await a.server.shutdown();
    }
  });
});

describe('observeCall', () => {
  it('is told of every finished call, with its status', async () => {
    const seen: string[] = [];
    let fail = false;
    const recorder = new ProbeRecorder();
    recorder.beforeEcho = () => {
      if (fail) throw new Error('broken');
    };
    const server = new GrpcServer({ logger: quiet, observeCall: (method, status) => seen.push(`${method} ${status}`) });
    server.add(ProbeDefinition, probeImplementation(recorder));
    const port = await server.listen('127.0.0.1:0');
    const channel = new GrpcChannel(`127.0.0.1:${port}`);
    const probe = createGrpcClient(ProbeDefinition, channel, { deadlineMs: 2_000, logger: quiet });
    try {
      await probe.echo({ payload: undefined });
      fail = true;
      await expect(probe.echo({ payload: undefined })).rejects.toThrow();
      expect(seen).toEqual(['/axon.rpctest.v1.Probe/Echo OK', '/axon.rpctest.v1.Probe/Echo INTERNAL']);
    } finally {
      channel.close();
      await server.shutdown();
    }
  });
});
