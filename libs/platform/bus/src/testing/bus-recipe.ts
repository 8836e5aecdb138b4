import { Database } from '@axon/platform-database';
import type { MessageBus } from '../bus';
import { InProcessBus } from '../in-process/in-process-bus';
import { KafkaBus } from '../kafka/kafka-bus';
import { KAFKA_TEST_TIMING } from '../kafka/kafka-options';
import type { BusLogger } from '../logger';

/**
 * How to open "the same bus" again: in the test process, after a restart, or in a child
 * process (hence plain JSON).
 */
export type BusRecipe =
  | { readonly kind: 'kafka'; readonly brokers: readonly string[] }
  | { readonly kind: 'in-process'; readonly dataDir: string; readonly url?: string };

export interface OpenedBus {
  readonly bus: MessageBus;
  /** The in-process bus's database (its log is a schema of it); none for Kafka. */
  readonly database?: Database;
  /** Closes the bus and whatever it was opened on (the database). */
  close(): Promise<void>;
}

export async function openBus(recipe: BusRecipe, logger: BusLogger, clientId = 'axon-bus-contract'): Promise<OpenedBus> {
  if (recipe.kind === 'kafka') {
    const bus = await KafkaBus.connect({ brokers: recipe.brokers, clientId, timing: KAFKA_TEST_TIMING, logger });
    return { bus, close: () => bus.close() };
  }
  const database = await Database.open({ url: recipe.url, dataDir: recipe.dataDir, poolSize: 4 });
  try {
    // A short fallback poll: the contract tests never rely on it, but it keeps them honest if they did.
    // lockWaitMs: on Postgres, the session of a child process SIGKILLed just before (and its
    // lock) may take a moment to go.
    const bus = await InProcessBus.open(database, { logger, pollIntervalMs: 500, lockWaitMs: 10_000 });
    return {
      bus,
      database,
      close: async () => {
        try {
          await bus.close();
        } finally {
          await database.close();
        }
      },
    };
  } catch (err) {
    await database.close();
    throw err;
  }
}
