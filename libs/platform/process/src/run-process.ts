import { ConfigError, loadConfig, type AxonConfig } from '@axon/platform-config';
import { createLogger, Metrics, startOpenTelemetry, type Logger, type OtelHandle } from '@axon/platform-telemetry';
import { exposedCollection, IdleCollector } from './idle-collector';

/** What a process's `start` gets: the validated config and its logger and metrics. */
export interface ProcessContext {
  /** The app's name (`homeserver`, `room-server`...): the metrics' `app` label and the ready message. */
  readonly app: string;
  readonly version: string;
  readonly config: AxonConfig;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** A started process: where it listens (logged with the ready message) and how it stops. */
export interface StartedProcess {
  /** E.g. `{ listen: '127.0.0.1:8008', grpc: '127.0.0.1:50051' }`. */
  readonly addresses: Readonly<Record<string, string>>;
  close(): Promise<void>;
}

export interface ProcessOptions {
  readonly app: string;
  readonly version: string;
  /**
   * Builds and starts the application. It runs after OpenTelemetry started, so it must
   * load the application's modules itself (a dynamic `import()`): instrumentations patch
   * http, pg and ioredis only as they load.
   */
  start(context: ProcessContext): Promise<StartedProcess>;
}

/**
 * The life of every Axon process, the all-in-one homeserver and each service alike:
 * load and validate the config (exit 78 on any error), start OpenTelemetry when an OTLP
 * endpoint is configured, start the app, log `<app> ready`, and on SIGTERM/SIGINT (also
 * one that arrives while starting) close it within `shutdown.grace_ms` or exit 1. Once
 * closed, it exits 0 within a second even if a library left a handle open.
 */
export function runProcess(options: ProcessOptions): void {
  main(options).catch((err: unknown) => {
    process.stderr.write(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}

/** How long a closed process may wait for its handles to end by themselves. */
const LINGER_AFTER_CLOSE_MS = 1_000;

async function main(options: ProcessOptions): Promise<void> {
  let config: AxonConfig;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
  const otel: OtelHandle | undefined = config.telemetry.otlp_endpoint
    ? startOpenTelemetry({
        endpoint: config.telemetry.otlp_endpoint,
        serviceName: config.telemetry.service_name,
        serviceVersion: options.version,
      })
    : undefined;
  const logger = createLogger({ level: config.telemetry.log_level, service: config.telemetry.service_name });
  const metrics = new Metrics(options.app.replace(/-/g, '_'));

  // Signals are watched from here on: one that arrives while starting stops the
  // process as soon as it is up, cleanly, instead of killing it half-initialised.
  const signals: { requested?: NodeJS.Signals; stop?: (signal: NodeJS.Signals) => void } = {};
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signals.stop) signals.stop(signal);
    else signals.requested ??= signal;
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);

  const started = await options.start({ app: options.app, version: options.version, config, logger, metrics });
  logger.info({ server_name: config.server_name, ...started.addresses, version: options.version }, `${options.app} ready`);
  // With `--expose-gc` (npm start), the garbage of a burst is collected once the process is idle.
  const collection = exposedCollection();
  const collector = collection === undefined ? undefined : new IdleCollector(collection, (err) => logger.warn({ err }, 'idle garbage collection failed'));
  collector?.start();

  let stopping = false;
  signals.stop = (signal) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: draining requests');
    collector?.stop();
    let closed = false;
    const deadline = setTimeout(() => {
      // What still holds the event loop: the unclosed piece (or, once closed, a leaked handle).
      logger.error({ grace_ms: config.shutdown.grace_ms, closed, active: process.getActiveResourcesInfo() }, 'shutdown grace period exceeded; exiting');
      process.exit(1);
    }, config.shutdown.grace_ms);
    deadline.unref();
    void (async () => {
      await started.close();
      closed = true;
      logger.info('shutdown complete');
      await otel?.shutdown();
      logger.flush();
      process.exitCode = 0;
      // Everything the app opened is closed, so the process ends here by itself, unless a
      // client library still holds a handle: kafkajs keeps the heartbeat connection of a
      // consumer whose group coordinator was found again after a broker restart. Such a
      // handle would hold the process until the grace period ends (exit 1): it exits now.
      // Unref'd, so it never keeps alive a process that would end anyway.
      setTimeout(() => {
        logger.warn({ active: process.getActiveResourcesInfo() }, 'closed, but handles are still open; exiting');
        logger.flush();
        process.exit(0);
      }, LINGER_AFTER_CLOSE_MS).unref();
    })();
  };
  if (signals.requested) signals.stop(signals.requested);
}
