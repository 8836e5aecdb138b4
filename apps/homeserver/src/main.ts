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

  const { bootstrap } = await import('./bootstrap');
  const app = await bootstrap(config, logger, metrics, VERSION);
  const { host } = config.listen.client;
  logger.info({ server_name: config.server_name, listen: `${host}:${app.port}`, version: VERSION }, 'homeserver ready');

  let stopping = false;
  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: draining requests');
    const deadline = setTimeout(() => {
      logger.error({ grace_ms: config.shutdown.grace_ms }, 'shutdown grace period exceeded; exiting');
      process.exit(1);
    }, config.shutdown.grace_ms);
    deadline.unref();
    await app.close();
    logger.info('shutdown complete');
    await otel?.shutdown();
    logger.flush();
    process.exitCode = 0;
  };
  process.once('SIGTERM', (s) => void stop(s));
  process.once('SIGINT', (s) => void stop(s));
}

main().catch((err: unknown) => {
  process.stderr.write(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
