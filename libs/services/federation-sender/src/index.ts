export * from './federation-sender.module';
export { FEDERATION_SENDER_GROUP } from './consumers/sender-group';
export { createFederationSenderMetrics, type FederationSenderMetrics } from './federation-sender.metrics';
