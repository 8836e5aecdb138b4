import {
  Global,
  Inject,
  Injectable,
  Module,
  type BeforeApplicationShutdown,
  type DynamicModule,
  type OnApplicationShutdown,
} from '@nestjs/common';
import type { AxonConfig } from '@axon/platform-config';
import { Database } from '@axon/platform-database';
import { InProcessBus, KAFKA_DEFAULT_TIMING, KafkaBus, createBusMetrics, type BusLogger, type KafkaTiming, type MessageBus } from '@axon/platform-bus';
import { createCache, createInProcessBackend, type CacheClient } from '@axon/platform-cache';
import { Metrics, type Logger } from '@axon/platform-telemetry';
import { hostname } from 'node:os';
import { DiagnosticsDefinition } from '@axon/contracts-grpc';
import { configurePartitionCounts, registeredTopics } from '@axon/contracts-kafka';
import { diagnosticsImplementation } from '@axon/platform-rpc';
import { Readiness, STAGE, ShutdownSequence } from './lifecycle';
import { RpcHost } from './rpc-host';
import { withSubscribeDefaults } from './bus-defaults';
import { ServerKeys, signingKeyPath } from './server-keys';
import { BUS, CACHE, CONFIG, LOGGER, VERSION } from './tokens';

export interface RuntimeOptions {
  readonly config: AxonConfig;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** The Axon version this process runs, reported by Diagnostics. */
  readonly version: string;
}

/**
 * Heartbeats well inside the session timeout. kafkajs heartbeats between fetches, so an
 * idle consumer learns of a rebalance only when its fetch long-poll returns: the long-poll
 * is capped at the heartbeat interval too, or a replica's graceful leave waited up to a
 * second for each remaining member to notice (1 s fetches; the launcher's 3 s timeout
 * heartbeats every 500 ms).
 */
function kafkaTiming(sessionTimeoutMs: number): Partial<KafkaTiming> {
  const heartbeatIntervalMs = Math.min(3000, Math.floor(sessionTimeoutMs / 6));
  return { sessionTimeoutMs, heartbeatIntervalMs, maxWaitTimeMs: Math.min(KAFKA_DEFAULT_TIMING.maxWaitTimeMs, heartbeatIntervalMs) };
}

/**
 * `/ready` turns 503 before Nest closes the HTTP listener (beforeApplicationShutdown);
 * the shutdown sequence runs after it closed (onApplicationShutdown).
 */
@Injectable()
class ShutdownHook implements BeforeApplicationShutdown, OnApplicationShutdown {
  constructor(
    private readonly sequence: ShutdownSequence,
    private readonly readiness: Readiness,
  ) {}

  beforeApplicationShutdown(): void {
    this.readiness.markDraining();
  }

  async onApplicationShutdown(): Promise<void> {
    this.readiness.markDraining();
    await this.sequence.run();
  }
}

/**
 * The process's infrastructure as Nest providers, chosen by configuration alone: the
 * database (PGlite or Postgres), the bus (in-process log or Kafka), the cache (in-process
 * or Redis) and the rpc host (in-process or gRPC).
 * Every piece registers a readiness check and a place in the shutdown sequence.
 */
@Global()
@Module({})
export class RuntimeModule {
  static forRoot(options: RuntimeOptions): DynamicModule {
    const { config, logger, metrics } = options;
    // Before anything reads a topic's count: producers, tokens and the bus's topics use it.
    configurePartitionCounts(config.kafka.partitions);
    return {
      module: RuntimeModule,
      providers: [
        { provide: CONFIG, useValue: config },
        { provide: LOGGER, useValue: logger },
        { provide: VERSION, useValue: options.version },
        { provide: Metrics, useValue: metrics },
        { provide: Readiness, useValue: new Readiness() },
        { provide: ShutdownSequence, useValue: new ShutdownSequence(logger) },
        {
          provide: Database,
          inject: [Readiness, ShutdownSequence],
          useFactory: async (readiness: Readiness, shutdown: ShutdownSequence) => {
            const db = await Database.open({
              url: config.database.url,
              dataDir: config.data_dir,
              poolSize: config.database.pool_size,
            });
            logger.info({ backend: db.kind }, 'database open');
            readiness.register('database', () => db.ping());
            shutdown.add(STAGE.database, 'database', () => db.close());
            return db;
          },
        },
        {
          provide: CACHE,
          inject: [Readiness, ShutdownSequence],
          useFactory: async (readiness: Readiness, shutdown: ShutdownSequence): Promise<CacheClient> => {
            const cache = createCache({
              ...(config.redis.url ? { redisUrl: config.redis.url, keyPrefix: config.redis.key_prefix } : { inProcessBackend: createInProcessBackend() }),
              logger: { warn: (obj, msg) => logger.warn(obj, msg) },
            });
            await cache.ready();
            logger.info({ backend: cache.kind }, 'cache ready');
            readiness.register('cache', () => cache.ping());
            shutdown.add(STAGE.connections, 'cache', () => cache.close());
            return cache;
          },
        },
        {
          provide: BUS,
          inject: [Database, Readiness, ShutdownSequence],
          useFactory: async (db: Database, readiness: Readiness, shutdown: ShutdownSequence): Promise<MessageBus> => {
            const busLogger: BusLogger = { log: (level, message, fields) => logger[level]({ ...fields }, message) };
            const busMetrics = createBusMetrics(metrics);
            const bus = config.kafka.brokers
              ? await KafkaBus.connect({
                  brokers: config.kafka.brokers,
                  clientId: config.kafka.client_id,
                  logger: busLogger,
                  namespace: config.kafka.topic_prefix,
                  timing: kafkaTiming(config.kafka.session_timeout_ms),
                  metrics: busMetrics,
                })
              : // On Postgres the in-process log admits one process: a restarting replacement
                // waits for the old process to let go, as long as its shutdown may take.
                await InProcessBus.open(db, { logger: busLogger, lockWaitMs: config.shutdown.grace_ms, metrics: busMetrics });
            // Every topic at its configured count before any service uses one: a count below
            // an existing topic's fails the start here, not a client's first request.
            await bus.ensureTopics(registeredTopics()).catch(async (err: unknown) => {
              await bus.close();
              throw err;
            });
            logger.info({ backend: bus.kind }, 'bus ready');
            readiness.register('bus', () => bus.ping());
            // After the producers: consumers drain and commit first (each its own
            // subscription, at STAGE.consumers), then the outbox relays publish what those
            // last handlers committed (STAGE.producers), then the bus closes. Closed with
            // the consumers, it refused the relays' last publish (rows left for the next
            // start, and a warning at every shutdown under load).
            shutdown.add(STAGE.connections, 'bus', () => bus.close());
            // Drains end well inside the grace period (the rest of it is for the others).
            return withSubscribeDefaults(bus, { drainTimeoutMs: Math.floor(config.shutdown.grace_ms * 0.6) });
          },
        },
        {
          provide: RpcHost,
          inject: [ShutdownSequence, Database, CACHE, BUS],
          useFactory: (shutdown: ShutdownSequence, db: Database, cache: CacheClient, bus: MessageBus): RpcHost => {
            const rpc = new RpcHost(config, logger, metrics);
            rpc.serve(
              DiagnosticsDefinition,
              diagnosticsImplementation({
                service: metrics.app,
                instanceId: `${hostname()}:${process.pid}`,
                serverName: config.server_name,
                version: options.version,
                transports: { database: db.kind, cache: cache.kind, bus: bus.kind, rpc: rpc.transport },
              }),
            );
            // Inbound calls stop before the consumers drain (a running call may still
            // publish); outbound channels stay until the consumers are done with them.
            shutdown.add(STAGE.inbound, 'rpc server', () => rpc.stopServing());
            shutdown.add(STAGE.connections, 'rpc clients', () => rpc.close());
            return rpc;
          },
        },
        {
          provide: ServerKeys,
          useFactory: async (): Promise<ServerKeys> => {
            const keyPath = signingKeyPath(config);
            const keys = await ServerKeys.load({ keyPath, backend: config.signing.backend });
            if (Object.hasOwn(config.signing.old_verify_keys, keys.signingKey.keyId)) {
              throw new Error(`signing.old_verify_keys lists ${keys.signingKey.keyId}, the current signing key; old keys need other key IDs`);
            }
            logger.info(
              { keyId: keys.signingKey.keyId, keyPath, backend: keys.backend.name, generated: keys.generated },
              keys.generated ? 'signing key generated' : 'signing key loaded',
            );
            return keys;
          },
        },
        ShutdownHook,
      ],
      exports: [CONFIG, LOGGER, VERSION, Metrics, Readiness, ShutdownSequence, Database, CACHE, BUS, RpcHost, ServerKeys],
    };
  }
}

/** Parameter decorators for the non-class tokens. */
export const InjectConfig = (): ParameterDecorator => Inject(CONFIG);
export const InjectLogger = (): ParameterDecorator => Inject(LOGGER);
export const InjectVersion = (): ParameterDecorator => Inject(VERSION);
export const InjectCache = (): ParameterDecorator => Inject(CACHE);
export const InjectBus = (): ParameterDecorator => Inject(BUS);
