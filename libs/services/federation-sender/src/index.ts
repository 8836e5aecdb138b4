export * from './federation-sender.module';
export { FEDERATION_SENDER_GROUP, FEDERATION_SENDER_TOPICS } from './consumers/sender-group';
export { createFederationSenderMetrics, type FederationSenderMetrics } from './federation-sender.metrics';
