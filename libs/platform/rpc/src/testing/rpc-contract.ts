import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { DiagnosticsDefinition, HealthDefinition } from '@axon/contracts-grpc';
import { MatrixError, limitExceeded } from '@axon/matrix-errors';
import { context, propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { ClientOptions } from '../client-core';
import type { ServiceClient, ServiceDefinition, ServiceImplementation } from '../definition';
import { diagnosticsImplementation } from '../diagnostics';
import { ServingStatus } from '../health';
import { Colour, type Payload, ProbeDefinition } from './generated/axon/rpctest/v1/probe';
import {
  ProbeRecorder,
  RecordingLogger,
  eventually,
  expectMatrixError,
  probeImplementation,
} from './probe-service';

/** What a binding under test offers: a server with services added, and clients of it. */
export interface RpcHarness {
  client<D extends ServiceDefinition>(service: D, options: ClientOptions): ServiceClient<D>;
  shutdown(options: { drainMs: number }): Promise<void>;
  /** Releases everything (shuts down first if the test did not). */
  dispose(): Promise<void>;
}

export interface RpcServerLike {
  add<D extends ServiceDefinition>(service: D, implementation: ServiceImplementation<D>): unknown;
}

export type MakeHarness = (setup: {
  register: (server: RpcServerLike) => void;
  logger: RecordingLogger;
  /** How long shutdown waits for running calls before cancelling them. */
  shutdownTimeoutMs: number;
}) => Promise<RpcHarness>;

const DEADLINE_MS = 2_000;
const PROBE = '/axon.rpctest.v1.Probe';

/** Every field kind the generated code has, at values where precision or presence matter. */
const FULL_PAYLOAD: Payload = {
  text: 'héllo, wörld 🌍',
  blob: Buffer.from([0, 1, 2, 254, 255]),
  flag: true,
  small: -2_147_483_648,
  offset: '18446744073709551615', // uint64 max: would not survive a JS number
  delta: '-9223372036854775808',
  ratio: 0.1 + 0.2,
  colour: Colour.COLOUR_GREEN,
  tags: ['a', '', 'c'],
  labels: { 'm.room': '!abc:example.org', empty: '' },
  nested: { label: 'n', values: [0, 1, 4_294_967_295] },
  items: [
    { label: 'x', values: [] },
    { label: '', values: [7] },
  ],
  maybe: '', // proto3 `optional`: an explicit default stays present
  choice: { $case: 'choiceNumber', value: 0 },
};

/**
 * The RPC contract: what every binding of a `ServiceClient` must do identically. Run it
 * against the in-process binding and against gRPC over real sockets.
 */
export function describeRpcContract(name: string, makeHarness: MakeHarness): void {
  describe(`RPC contract: ${name}`, () => {
    const recorder = new ProbeRecorder();
    const logger = new RecordingLogger();
    let harness: RpcHarness;
    let probe: ServiceClient<ProbeDefinition>;
    let health: ServiceClient<HealthDefinition>;
    const options = { deadlineMs: DEADLINE_MS, logger };

    beforeAll(async () => {
      propagation.setGlobalPropagator(new W3CTraceContextPropagator());
      context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
      harness = await makeHarness({
        logger,
        shutdownTimeoutMs: 2_000,
        register: (server) => {
          server.add(ProbeDefinition, probeImplementation(recorder));
          server.add(
            DiagnosticsDefinition,
            diagnosticsImplementation({
              service: 'contract-test',
              instanceId: 'test-1',
              serverName: 'example.org',
              version: '0.0.0-test',
              transports: { rpc: name },
              startedAtMs: 1_000,
              now: () => 61_000,
            }),
          );
        },
      });
      probe = harness.client(ProbeDefinition, options);
      health = harness.client(HealthDefinition, options);
    });

    afterAll(async () => {
      await harness.dispose();
      propagation.disable();
      context.disable();
    });

    beforeEach(() => {
      recorder.reset();
      logger.entries.length = 0;
    });

    it('round-trips every field kind unchanged, 64-bit integers included', async () => {
      const response = await probe.echo({ payload: FULL_PAYLOAD });
      expect(response.payload).toEqual(FULL_PAYLOAD);
      expect((await probe.echo({ payload: undefined })).payload).toBeUndefined();
    });

    it('keeps concurrent calls apart', async () => {
      const texts = Array.from({ length: 20 }, (_, i) => `call-${i}`);
      const replies = await Promise.all(texts.map((text) => probe.echo({ payload: { ...FULL_PAYLOAD, text } })));
      expect(replies.map((reply) => reply.payload?.text)).toEqual(texts);
    });

    it('answers Diagnostics.Describe', async () => {
      const diagnostics = harness.client(DiagnosticsDefinition, options);
      expect(await diagnostics.describe({})).toEqual({
        service: 'contract-test',
        instanceId: 'test-1',
        serverName: 'example.org',
        version: '0.0.0-test',
        runtime: `node ${process.version}`,
        startedAtMs: '1000',
        uptimeMs: '60000',
        transports: { rpc: name },
      });
    });

    it('delivers a MatrixError with its extras equal on the client', async () => {
      recorder.beforeEcho = () => {
        throw limitExceeded(1_500);
      };
      const error = await expectMatrixError(probe.echo({ payload: undefined }), limitExceeded(1_500));
      expect(error.toBody()).toEqual({ errcode: 'M_LIMIT_EXCEEDED', error: 'Too many requests', retry_after_ms: 1_500 });
    });

    it('keeps a non-default HTTP status and non-ASCII text in errors', async () => {
      const thrown = new MatrixError('M_FORBIDDEN', 'Nope — 🚫 not you', 418, { reason: 'ünïcode', list: [1, { a: null }] });
      recorder.beforeEcho = () => {
        throw thrown;
      };
      await expectMatrixError(probe.echo({ payload: undefined }), thrown);
      expect(logger.entries.filter((entry) => entry.level === 'error')).toEqual([]);
    });

    it('turns an unexpected error into M_UNKNOWN without leaking it, and logs it', async () => {
      const bug = new Error('password=hunter2 at /srv/secret.ts:12');
      recorder.beforeEcho = () => {
        throw bug;
      };
      const error = await expectMatrixError(
        probe.echo({ payload: undefined }),
        new MatrixError('M_UNKNOWN', 'Internal server error', 500),
      );
      expect(JSON.stringify({ body: error.toBody(), stack: error.stack })).not.toContain('hunter2');
      const logged = logger.entries.find((entry) => entry.level === 'error' && entry.fields['err'] === bug);
      expect(logged?.fields['method']).toBe(`${PROBE}/Echo`);
    });

    it('fails a call at its deadline and aborts the handler', async () => {
      const started = Date.now();
      await expectMatrixError(
        probe.sleep({ ms: 10_000 }, { deadlineMs: 250 }),
        new MatrixError('M_UNKNOWN', 'axon.rpctest.v1.Probe/Sleep: deadline exceeded', 504),
      );
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(240);
      expect(elapsed).toBeLessThan(2_000);
      await eventually(() => expect(recorder.aborted).toHaveLength(1));
      expect(recorder.aborted[0]).toBeInstanceOf(MatrixError);
      expect((recorder.aborted[0] as MatrixError).status).toBe(504);
    });

    it('tells the handler how much time is left', async () => {
      const reply = await probe.echo({ payload: undefined }, { deadlineMs: 1_000 });
      expect(Number(reply.remainingMs)).toBeGreaterThan(500);
      expect(Number(reply.remainingMs)).toBeLessThanOrEqual(1_000);
    });

    it('makes a call without a real deadline impossible', async () => {
      expect(() => harness.client(ProbeDefinition, { deadlineMs: Number.POSITIVE_INFINITY })).toThrow(TypeError);
      expect(() => harness.client(ProbeDefinition, { deadlineMs: 0 })).toThrow(TypeError);
      await expect(probe.echo({ payload: undefined }, { deadlineMs: -1 })).rejects.toThrow(TypeError);
    });

    it('cancels a call when the caller aborts', async () => {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 100);
      await expectMatrixError(
        probe.sleep({ ms: 10_000 }, { signal: controller.signal }),
        new MatrixError('M_UNKNOWN', 'axon.rpctest.v1.Probe/Sleep: cancelled', 499),
      );
      await eventually(() => expect(recorder.aborted).toHaveLength(1));
    });

    it('passes metadata and the caller trace context to the handler', async () => {
      const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
      const parent = trace.setSpanContext(context.active(), { traceId, spanId: '00f067aa0ba902b7', traceFlags: 1 });
      const reply = await context.with(parent, () =>
        probe.echo({ payload: undefined }, { metadata: { 'X-Request-Id': 'req-42', 'x-note-bin': 'héllo' } }),
      );
      expect(reply.metadata).toMatchObject({ 'x-request-id': 'req-42', 'x-note-bin': 'héllo' });
      expect(reply.metadata['traceparent']).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
      expect(reply.traceId).toBe(traceId);
      expect(recorder.traceIds).toEqual([traceId]);
    });

    it('refuses metadata gRPC could not carry, in both bindings', async () => {
      await expect(probe.echo({ payload: undefined }, { metadata: { 'bad key': 'x' } })).rejects.toThrow(TypeError);
      await expect(probe.echo({ payload: undefined }, { metadata: { 'x-text': 'é' } })).rejects.toThrow(TypeError);
    });

    it('fails a request the wire cannot encode before sending it', async () => {
      await expectMatrixError(
        probe.echo({ payload: { ...FULL_PAYLOAD, small: 2 ** 40 } }),
        new MatrixError('M_UNKNOWN', 'Internal server error', 500),
      );
      expect(logger.entries.some((entry) => entry.message === 'rpc request could not be encoded')).toBe(true);
    });

    it('streams responses in order', async () => {
      const indexes: number[] = [];
      for await (const tick of probe.ticks({ count: 5, intervalMs: 5 })) indexes.push(tick.index);
      expect(indexes).toEqual([0, 1, 2, 3, 4]);
      await eventually(() => expect(recorder.ticksStopped).toEqual([undefined]));
    });

    it('ends a stream with the handler MatrixError after what was sent', async () => {
      recorder.ticksFailure = { at: 2, error: limitExceeded(20) };
      const indexes: number[] = [];
      const consume = async (): Promise<void> => {
        for await (const tick of probe.ticks({ count: 5, intervalMs: 1 })) indexes.push(tick.index);
      };
      await expectMatrixError(consume(), limitExceeded(20));
      expect(indexes).toEqual([0, 1]);
    });

    it('stops the handler when the caller stops reading a stream', async () => {
      for await (const tick of probe.ticks({ count: 1_000, intervalMs: 20 })) {
        if (tick.index === 1) break;
      }
      await eventually(() => expect(recorder.ticksStopped).toHaveLength(1));
      expect(recorder.ticksStopped[0]).toEqual(new MatrixError('M_UNKNOWN', 'axon.rpctest.v1.Probe/Ticks: cancelled', 499));
    });

    it('applies the deadline to a whole stream', async () => {
      const indexes: number[] = [];
      const consume = async (): Promise<void> => {
        for await (const tick of probe.ticks({ count: 1_000, intervalMs: 50 }, { deadlineMs: 300 })) {
          indexes.push(tick.index);
        }
      };
      await expectMatrixError(consume(), new MatrixError('M_UNKNOWN', 'axon.rpctest.v1.Probe/Ticks: deadline exceeded', 504));
      expect(indexes.length).toBeGreaterThan(0);
      await eventually(() => expect(recorder.ticksStopped).toHaveLength(1));
      expect((recorder.ticksStopped[0] as MatrixError).status).toBe(504);
    });

    it('reports SERVING for the server and each service, NOT_FOUND for others', async () => {
      expect(await health.check({ service: '' })).toEqual({ status: ServingStatus.SERVING });
      expect(await health.check({ service: 'axon.rpctest.v1.Probe' })).toEqual({ status: ServingStatus.SERVING });
      await expectMatrixError(
        health.check({ service: 'nope.v1.Missing' }),
        new MatrixError('M_NOT_FOUND', 'Unknown service "nope.v1.Missing"', 404),
      );
      const watch = health.watch({ service: 'nope.v1.Missing' }, { deadlineMs: 200 })[Symbol.asyncIterator]();
      expect((await watch.next()).value).toEqual({ status: ServingStatus.SERVICE_UNKNOWN });
      await watch.return?.();
    });
  });

  describe(`RPC contract: ${name}, shutdown`, () => {
    const recorder = new ProbeRecorder();
    const logger = new RecordingLogger();
    const options = { deadlineMs: DEADLINE_MS, logger };
    let harness: RpcHarness;

    beforeAll(async () => {
      harness = await makeHarness({
        logger,
        shutdownTimeoutMs: 2_000,
        register: (server) => server.add(ProbeDefinition, probeImplementation(recorder)),
      });
    });
    afterAll(() => harness.dispose());

    it('answers UNIMPLEMENTED for a service it does not serve', async () => {
      const diagnostics = harness.client(DiagnosticsDefinition, options);
      await expectMatrixError(
        diagnostics.describe({}),
        new MatrixError('M_UNKNOWN', 'hs.platform.v1.Diagnostics/Describe: not implemented by the server', 501),
      );
    });

    it('drains: NOT_SERVING to checks and watchers, running calls finish, then UNAVAILABLE', async () => {
      const probe = harness.client(ProbeDefinition, options);
      const health = harness.client(HealthDefinition, options);
      const watch = health.watch({ service: '' }, { deadlineMs: 10_000 })[Symbol.asyncIterator]();
      expect((await watch.next()).value).toEqual({ status: ServingStatus.SERVING });

      const running = probe.sleep({ ms: 600 });
      await new Promise((resolve) => setTimeout(resolve, 50)); // the call is in flight
      const shutdown = harness.shutdown({ drainMs: 300 });

      expect((await watch.next()).value).toEqual({ status: ServingStatus.NOT_SERVING });
      expect(await health.check({ service: 'axon.rpctest.v1.Probe' })).toEqual({ status: ServingStatus.NOT_SERVING });
      expect((await watch.next()).done).toBe(true); // watches end so shutdown is not held up

      expect((await running).sleptMs).toBeGreaterThanOrEqual(590);
      await shutdown;
      expect(recorder.aborted).toEqual([]);

      const unavailable = new MatrixError('M_UNKNOWN', 'axon.rpctest.v1.Probe/Echo: service unavailable', 503);
      await expectMatrixError(probe.echo({ payload: undefined }), unavailable);
    });
  });

  describe(`RPC contract: ${name}, forced shutdown`, () => {
    const recorder = new ProbeRecorder();
    const logger = new RecordingLogger();
    let harness: RpcHarness;

    beforeAll(async () => {
      harness = await makeHarness({
        logger,
        shutdownTimeoutMs: 200,
        register: (server) => server.add(ProbeDefinition, probeImplementation(recorder)),
      });
    });
    afterAll(() => harness.dispose());

    it('ends calls still running at the shutdown timeout with UNAVAILABLE', async () => {
      const probe = harness.client(ProbeDefinition, { deadlineMs: 10_000, logger });
      const outcome = probe.sleep({ ms: 10_000 }).then(
        () => new Error('the call should not succeed'),
        (reason: unknown) => reason,
      );
      await new Promise((resolve) => setTimeout(resolve, 50)); // the call is in flight
      const started = Date.now();
      await harness.shutdown({ drainMs: 0 });
      expect(Date.now() - started).toBeLessThan(2_000);
      const unavailable = new MatrixError('M_UNKNOWN', 'axon.rpctest.v1.Probe/Sleep: service unavailable', 503);
      await expectMatrixError(Promise.reject(await outcome), unavailable);
      await eventually(() => expect(recorder.aborted).toEqual([unavailable]));
    });
  });
}
