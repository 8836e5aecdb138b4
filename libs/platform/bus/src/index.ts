export * from './bus';
export { DLQ_HEADERS, RESERVED_HEADER_PREFIX } from './headers';
export { stderrLogger, type BusLogger, type BusLogLevel } from './logger';
export { partitionForKey } from './partitioner';
export { KafkaBus } from './kafka/kafka-bus';
export { KAFKA_DEFAULT_TIMING, KAFKA_TEST_TIMING, type KafkaBusOptions, type KafkaTiming } from './kafka/kafka-options';
export { InProcessBus, BUS_SCHEMA, IN_PROCESS_LOCK, type InProcessBusOptions, type InProcessRetention } from './in-process/in-process-bus';
export { currentTraceHeaders } from './trace-context';
export { createBusMetrics, type BusMetrics } from './bus-metrics';
