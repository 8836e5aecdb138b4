import 'reflect-metadata';
import { ConfigError, loadConfig, type AxonConfig } from '@axon/platform-config';
import { createLogger, Metrics, startOpenTelemetry, type OtelHandle } from '@axon/platform-telemetry';

const VERSION = '0.1.0';

async function main(): Promise<void> {
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
  // OpenTelemetry first: its instrumentations patch http/pg/ioredis as they load, so the
  // application modules are required only after it has started.
  const otel: OtelHandle | undefined = config.telemetry.otlp_endpoint
    ? startOpenTelemetry({
        endpoint: config.telemetry.otlp_endpoint,
        serviceName: config.telemetry.service_name,
        serviceVersion: VERSION,
      })
    : undefined;
  const logger = createLogger({ level: config.telemetry.log_level, service: config.telemetry.service_name });
  const metrics = new Metrics('homeserver');

  // Signals are watched from here on: one that arrives while starting stops the
  // process as soon as it is up, cleanly, instead of killing it half-initialised.
  const signals: { requested?: NodeJS.Signals; stop?: (signal: NodeJS.Signals) => void } = {};
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signals.stop) signals.stop(signal);
    else signals.requested ??= signal;
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);

  const { bootstrap } = await import('./bootstrap');
  const app = await bootstrap(config, logger, metrics, VERSION);
  const { host } = config.listen.client;
  logger.info({ server_name: config.server_name, listen: `${host}:${app.port}`, version: VERSION }, 'homeserver ready');

  let stopping = false;
  signals.stop = (signal) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: draining requests');
    const deadline = setTimeout(() => {
      logger.error({ grace_ms: config.shutdown.grace_ms }, 'shutdown grace period exceeded; exiting');
      process.exit(1);
    }, config.shutdown.grace_ms);
    deadline.unref();
    void (async () => {
      await app.close();
      logger.info('shutdown complete');
      await otel?.shutdown();
      logger.flush();
      process.exitCode = 0;
    })();
  };
  if (signals.requested) signals.stop(signals.requested);
}

main().catch((err: unknown) => {
  process.stderr.write(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
