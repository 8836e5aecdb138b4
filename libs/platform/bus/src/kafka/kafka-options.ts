import { logLevel as KafkaLogLevel, type logCreator } from 'kafkajs';
import type { BusMetrics } from '../bus-metrics';
import type { BusLogger, BusLogLevel } from '../logger';

export interface KafkaBusOptions {
  /** `host:port` of the bootstrap brokers. */
  readonly brokers: readonly string[];
  /** Identifies this process in broker logs and metrics. */
  readonly clientId: string;
  readonly logger?: BusLogger;
  /** Consumer lag gauges (`createBusMetrics`); none by default. */
  readonly metrics?: BusMetrics;
  /** Replication factor of created topics. Default: the broker's `default.replication.factor`. */
  readonly replicationFactor?: number;
  readonly timing?: Partial<KafkaTiming>;
  /**
   * Prepended to every topic name and consumer group ID, so several deployments (or
   * test runs) can share one cluster without seeing each other's messages. Default none.
   */
  readonly namespace?: string;
}

/**
 * Client timings. The defaults suit production; tests use KAFKA_TEST_TIMING so that a
 * killed consumer's partitions move within seconds.
 */
export interface KafkaTiming {
  readonly connectionTimeoutMs: number;
  readonly requestTimeoutMs: number;
  /**
   * A member silent for this long is declared dead and its partitions reassigned
   * (the broker accepts 6 s to 300 s by default: group.min/max.session.timeout.ms).
   */
  readonly sessionTimeoutMs: number;
  /** How long a rebalance waits for every member to rejoin. */
  readonly rebalanceTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  /**
   * Fetch long-poll. It also bounds how late an idle or fully paused consumer notices a
   * rebalance, since kafkajs heartbeats between fetches.
   */
  readonly maxWaitTimeMs: number;
  /** Client-level retries of a failing request (publish, commit, admin) before it fails. */
  readonly retries: number;
  readonly initialRetryTimeMs: number;
  readonly maxRetryTimeMs: number;
}

export const KAFKA_DEFAULT_TIMING: KafkaTiming = {
  connectionTimeoutMs: 3_000,
  requestTimeoutMs: 30_000,
  sessionTimeoutMs: 30_000,
  rebalanceTimeoutMs: 60_000,
  heartbeatIntervalMs: 3_000,
  maxWaitTimeMs: 1_000,
  retries: 8,
  initialRetryTimeMs: 300,
  maxRetryTimeMs: 30_000,
};

export const KAFKA_TEST_TIMING: KafkaTiming = {
  connectionTimeoutMs: 3_000,
  requestTimeoutMs: 15_000,
  sessionTimeoutMs: 6_000,
  rebalanceTimeoutMs: 10_000,
  heartbeatIntervalMs: 500,
  maxWaitTimeMs: 200,
  retries: 5,
  initialRetryTimeMs: 100,
  maxRetryTimeMs: 2_000,
};

function mapLevel(level: KafkaLogLevel): BusLogLevel {
  switch (level) {
    case KafkaLogLevel.ERROR:
      return 'error';
    case KafkaLogLevel.WARN:
      return 'warn';
    case KafkaLogLevel.INFO:
      return 'info';
    default:
      return 'debug';
  }
}

/**
 * Routes kafkajs's own logs to the bus logger. kafkajs logs every protocol error response
 * at ERROR from its Connection ("Response Heartbeat ... The group is rebalancing"), though
 * they are routine and retried; whatever is not recovered surfaces as a failed call or a
 * consumer crash, which are logged at their real level. Those responses go out at `info`.
 */
export function kafkaLogCreator(logger: BusLogger): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      const { message, ...fields } = log;
      const routine = namespace === 'Connection' && message.startsWith('Response ');
      logger.log(routine ? 'info' : mapLevel(level), `kafkajs ${namespace}: ${message}`, fields);
    };
}
