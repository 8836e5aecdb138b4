import { MatrixError } from '@axon/matrix-errors';
import { context, trace } from '@opentelemetry/api';
import type { CallContext, ServiceImplementation } from '../definition';
import type { RpcLogger } from '../logger';
import type { ProbeDefinition } from './generated/axon/rpctest/v1/probe';

/** What the probe's handlers saw, for the contract suite to assert on. */
export class ProbeRecorder {
  /** Runs at the start of Echo; a test sets it to make the handler fail. */
  beforeEcho: ((ctx: CallContext) => void) | undefined;
  /** Ticks throws this when it reaches `failAt`. */
  ticksFailure: { at: number; error: unknown } | undefined;
  /** The signal reasons of handlers that saw their call abort. */
  readonly aborted: unknown[] = [];
  /** For each Ticks handler whose `finally` ran: its signal's reason (undefined if not aborted). */
  readonly ticksStopped: unknown[] = [];
  /** Trace ids as `ctx.traceContext` carried them. */
  readonly traceIds: string[] = [];

  reset(): void {
    this.beforeEcho = undefined;
    this.ticksFailure = undefined;
    this.aborted.length = 0;
    this.ticksStopped.length = 0;
    this.traceIds.length = 0;
  }
}

/** Waits `ms`, or until the call aborts, then throws the abort reason. */
async function pause(ms: number, ctx: CallContext): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    ctx.signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
  if (ctx.signal.aborted) throw ctx.signal.reason;
}

export function probeImplementation(recorder: ProbeRecorder): ServiceImplementation<ProbeDefinition> {
  return {
    async echo(request, ctx) {
      recorder.beforeEcho?.(ctx);
      recorder.traceIds.push(trace.getSpanContext(ctx.traceContext)?.traceId ?? '');
      return {
        payload: request.payload,
        metadata: { ...ctx.metadata },
        // From the active context: proves the handler runs inside the caller's trace.
        traceId: trace.getSpanContext(context.active())?.traceId ?? '',
        remainingMs: String(Math.round(ctx.deadline - Date.now())),
      };
    },
    async sleep(request, ctx) {
      const started = Date.now();
      try {
        await pause(request.ms, ctx);
      } finally {
        if (ctx.signal.aborted) recorder.aborted.push(ctx.signal.reason);
      }
      return { sleptMs: Date.now() - started };
    },
    async *ticks(request, ctx) {
      try {
        for (let index = 0; index < request.count; index++) {
          if (recorder.ticksFailure?.at === index) throw recorder.ticksFailure.error;
          if (index > 0) await pause(request.intervalMs, ctx);
          yield { index };
        }
      } finally {
        recorder.ticksStopped.push(ctx.signal.aborted ? ctx.signal.reason : undefined);
      }
    },
  };
}

export interface LogEntry {
  readonly level: 'error' | 'warn';
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

/** Keeps log entries for assertions instead of printing them. */
export class RecordingLogger implements RpcLogger {
  readonly entries: LogEntry[] = [];
  error(fields: Record<string, unknown>, message: string): void {
    this.entries.push({ level: 'error', fields, message });
  }
  warn(fields: Record<string, unknown>, message: string): void {
    this.entries.push({ level: 'warn', fields, message });
  }
}

/** Resolves once `check` passes, failing the test after `timeoutMs`. */
export async function eventually(check: () => void, timeoutMs = 2_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      check();
      return;
    } catch (error) {
      if (Date.now() > until) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

/** Asserts that `promise` rejects with a MatrixError equal to `expected`. */
export async function expectMatrixError(promise: Promise<unknown>, expected: MatrixError): Promise<MatrixError> {
  const error: unknown = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(MatrixError);
  const actual = error as MatrixError;
  expect({ errcode: actual.errcode, message: actual.message, status: actual.status, extras: actual.extras }).toEqual({
    errcode: expected.errcode,
    message: expected.message,
    status: expected.status,
    extras: expected.extras,
  });
  return actual;
}
