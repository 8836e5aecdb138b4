/** The consumer group of the sender replicas on every topic they consume. */
export const FEDERATION_SENDER_GROUP = 'federation-sender';
