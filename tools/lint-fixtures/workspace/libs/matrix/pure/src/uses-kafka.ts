// Broken on purpose: libs/matrix importing kafkajs.
import { Kafka } from 'kafkajs';
export const client = Kafka;
