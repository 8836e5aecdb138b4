import type { CacheClient } from '../create-cache';
import type { CacheLogger } from '../ports';

/**
 * Shared plumbing for the contract suites: how a suite gets clients on the backend under
 * test, and polling helpers with generous deadlines. Deadlines only bound how long a
 * failing test takes; passing tests finish as soon as the condition holds, so a loaded
 * machine makes them slower, not flaky.
 */

export interface OpenOptions {
  /** A logical namespace; the backend maps it to a prefix unique to the test run. */
  readonly keyPrefix?: string;
  readonly logger?: CacheLogger;
}

/**
 * The backend under test. Every client opened during one test shares one backend: for
 * Redis, one server (each client its own connections, like a replica); in-process, one
 * `InProcessBackend`.
 */
export interface CacheContractBackend {
  open(options?: OpenOptions): CacheClient;
  /** Runs after each test, once every client it opened is closed. */
  teardown?(): Promise<void>;
}

export type CacheContractSetup = () => CacheContractBackend | Promise<CacheContractBackend>;

export interface ContractContext {
  /** Opens one more client ("replica"); it is closed after the test. */
  open(options?: OpenOptions): CacheClient;
}

/** Registers per-test setup and cleanup; call inside a `describe`. */
export function useContractBackend(setup: CacheContractSetup): ContractContext {
  let backend: CacheContractBackend | undefined;
  const clients: CacheClient[] = [];
  beforeEach(async () => {
    backend = await setup();
  });
  afterEach(async () => {
    const opened = clients.splice(0);
    await Promise.all(opened.map((client) => client.close()));
    await backend?.teardown?.();
    backend = undefined;
  });
  return {
    open(options) {
      if (backend === undefined) throw new Error('open() called outside a test');
      const client = backend.open(options);
      clients.push(client);
      return client;
    },
  };
}

export const DEADLINE_MS = 5_000;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` until it holds; fails with `what` after `timeoutMs`. */
export async function waitFor(what: string, condition: () => boolean, timeoutMs = DEADLINE_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

export interface Received {
  readonly channel: string;
  readonly payload: string;
}

/** A wake-up listener that records what it receives. */
export class Inbox {
  readonly received: Received[] = [];
  readonly listener = (payload: string, channel: string): void => {
    this.received.push({ channel, payload });
  };

  constructor(private readonly name = 'inbox') {}

  payloads(): string[] {
    return this.received.map((message) => message.payload);
  }

  async waitForPayload(payload: string): Promise<void> {
    await waitFor(`${this.name} to receive ${JSON.stringify(payload)}`, () => this.payloads().includes(payload));
  }
}

/** A logger that keeps its warnings for assertions. */
export class RecordingLogger implements CacheLogger {
  readonly warnings: { obj: Record<string, unknown>; msg: string }[] = [];

  warn(obj: Record<string, unknown>, msg: string): void {
    this.warnings.push({ obj, msg });
  }
}

/** A promise the test resolves by hand, to hold a loader mid-flight. */
export class Gate<T> {
  readonly promise: Promise<T>;
  open!: (value: T) => void;

  constructor() {
    this.promise = new Promise<T>((resolve) => {
      this.open = resolve;
    });
  }
}
