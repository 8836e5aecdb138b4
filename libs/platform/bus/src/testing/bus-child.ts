/*
 * A bus client in its own process, for the contract suite's crash tests: the parent
 * SIGKILLs it at a chosen moment. Started through run-ts.js with one JSON argument
 * (ChildCommand); reports every event as one JSON line on stdout (ChildEvent).
 */
import { defineTopic, jsonCodec } from '@axon/contracts-kafka';
import { ack } from '../bus';
import type { BusLogger } from '../logger';
import { openBus, type BusRecipe } from './bus-recipe';
import type { TestMessage } from './contract-helpers';

export type ChildCommand =
  | {
      readonly mode: 'consume';
      readonly recipe: BusRecipe;
      readonly topic: { readonly name: string; readonly partitions: number };
      readonly groupId: string;
      /** The message with this seq never finishes (its handler hangs). */
      readonly hangSeq: number;
    }
  | {
      readonly mode: 'publish';
      readonly recipe: BusRecipe;
      readonly topic: { readonly name: string; readonly partitions: number };
      readonly count: number;
    }
  | {
      /** `senders` publishers at once, each publishing 2-message calls one after the other until killed. */
      readonly mode: 'publish-concurrent';
      readonly recipe: BusRecipe;
      readonly topic: { readonly name: string; readonly partitions: number };
      readonly senders: number;
    };

export type ChildEvent =
  | { readonly type: 'ready' }
  | { readonly type: 'started' | 'handled'; readonly seq: number; readonly key: string; readonly partition: number; readonly offset: string }
  | { readonly type: 'committed'; readonly partition: number; readonly offset: string }
  | { readonly type: 'published'; readonly count: number }
  /** A call of sender `key` resolved: its messages `seqs` are durable. */
  | { readonly type: 'resolved'; readonly key: string; readonly seqs: readonly number[] };

function emit(event: ChildEvent): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

const stderrErrors: BusLogger = {
  log(level, message, fields) {
    if (level === 'error') process.stderr.write(`[child bus ${level}] ${message} ${JSON.stringify(fields ?? {})}\n`);
  },
};

async function main(command: ChildCommand): Promise<void> {
  const topic = defineTopic<TestMessage>({ ...command.topic, key: (m) => m.key, codec: jsonCodec() });
  const { bus } = await openBus(command.recipe, stderrErrors, 'axon-bus-contract-child');
  if (command.mode === 'publish') {
    await bus.publish(topic, Array.from({ length: command.count }, (_, seq) => ({ key: `k${seq % 7}`, seq })));
    emit({ type: 'published', count: command.count });
  } else if (command.mode === 'publish-concurrent') {
    for (let sender = 0; sender < command.senders; sender++) {
      void (async () => {
        const key = `s${sender}`;
        for (let seq = 0; ; seq += 2) {
          await bus.publish(topic, [{ key, seq }, { key, seq: seq + 1 }]);
          emit({ type: 'resolved', key, seqs: [seq, seq + 1] });
        }
      })();
    }
  } else {
    await bus.subscribe(
      topic,
      command.groupId,
      async (m) => {
        const where = { seq: m.value.seq, key: m.key, partition: m.partition, offset: m.offset };
        emit({ type: 'started', ...where });
        if (m.value.seq === command.hangSeq) await new Promise<never>(() => undefined);
        emit({ type: 'handled', ...where });
        return ack;
      },
      {
        commitIntervalMs: 20,
        observer: { committed: (partition, offset) => emit({ type: 'committed', partition, offset }) },
      },
    );
    emit({ type: 'ready' });
  }
  // Stay alive until the parent kills us: the point is to die without any shutdown.
  setInterval(() => undefined, 60_000);
}

const arg = process.argv[3];
if (!arg) throw new Error('bus-child: missing command argument');
main(JSON.parse(arg) as ChildCommand).catch((err: unknown) => {
  process.stderr.write(`bus-child failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
