import { presenceTopic, receiptTopic, roomOutputTopic, toDeviceTopic, typingTopic } from '@axon/contracts-kafka';

/** The consumer group of the sender replicas on every topic they consume. */
export const FEDERATION_SENDER_GROUP = 'federation-sender';

/** The topics the sender replicas consume, each in `FEDERATION_SENDER_GROUP` (what their autoscaler watches). */
export const FEDERATION_SENDER_TOPICS = [roomOutputTopic, typingTopic, receiptTopic, presenceTopic, toDeviceTopic] as const;
