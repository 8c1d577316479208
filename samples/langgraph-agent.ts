/**
 * A LangGraph agent that checkpoints into an encrypted FileStorage through
 * CheckpointableSaver. No model is called: the graph is deterministic, so the sample shows
 * only what checkpointing does. Its state holds a Date, a Map, a Set and a bigint, which
 * come back as themselves after a restart.
 *
 *   node -r @swc-node/register samples/langgraph-agent.ts start <folder>   runs until approval
 *   node -r @swc-node/register samples/langgraph-agent.ts resume <folder>  approves and finishes
 *
 * Each run prints one JSON line describing the state it ended with.
 */
import 'reflect-metadata';
import { Annotation, END, START, StateGraph } from '@langchain/langgraph';
import { buildWrapperChain, FileStorage } from 'checkpointable';
import { CheckpointableSaver } from 'checkpointable/langgraph';

// A demo key: a real service reads it from the environment or a key file.
const KEY = process.env.CHECKPOINT_ENCRYPTION_KEY ?? 'sample-only-key-0123456789abcdef';
const THREAD = { configurable: { thread_id: 'order-7' } };

const OrderState = Annotation.Root({
  log: Annotation<string[]>({ reducer: (all, more) => all.concat(more), default: () => [] }),
  items: Annotation<Map<string, number>>(),
  tags: Annotation<Set<string>>(),
  totalCents: Annotation<bigint>(),
  approvedAt: Annotation<Date | undefined>(),
});
type Order = typeof OrderState.State;

const PRICES: Record<string, bigint> = { apple: 120n, pear: 99n };

function buildGraph(saver: CheckpointableSaver) {
  return new StateGraph(OrderState)
    .addNode('collect', () => ({
      log: ['collected'],
      items: new Map([
        ['apple', 3],
        ['pear', 1],
      ]),
      tags: new Set(['b2b']),
    }))
    .addNode('price', (state: Order) => {
      let total = 0n;
      for (const [sku, quantity] of state.items) total += PRICES[sku] * BigInt(quantity);
      return { log: ['priced'], totalCents: total };
    })
    .addNode('approve', () => ({ log: ['approved'], approvedAt: new Date('2026-12-01T10:00:00Z') }))
    .addNode('ship', (state: Order) => ({ log: [`shipped ${state.items.size} lines`] }))
    .addEdge(START, 'collect')
    .addEdge('collect', 'price')
    .addEdge('price', 'approve')
    .addEdge('approve', 'ship')
    .addEdge('ship', END)
    .compile({ checkpointer: saver, interruptBefore: ['approve'] });
}

function describe(state: Partial<Order>, next: readonly string[]) {
  return {
    next,
    log: state.log,
    items: state.items instanceof Map ? [...state.items] : `not a Map: ${typeof state.items}`,
    tags: state.tags instanceof Set ? [...state.tags] : `not a Set: ${typeof state.tags}`,
    totalCents:
      typeof state.totalCents === 'bigint' ? `${state.totalCents}n` : String(state.totalCents),
    approvedAt: state.approvedAt instanceof Date ? state.approvedAt.toISOString() : null,
  };
}

async function main(): Promise<void> {
  const [command, folder] = process.argv.slice(2);
  if ((command !== 'start' && command !== 'resume') || folder === undefined) {
    throw new Error('usage: langgraph-agent.ts start|resume <folder>');
  }
  const storage = buildWrapperChain(await FileStorage.openRaw(folder), [
    'checksum',
    { encrypt: { key: KEY } },
    'guard',
  ]);
  const saver = new CheckpointableSaver(storage);
  const graph = buildGraph(saver);
  // start: runs collect and price, then stops before approval (the process then exits);
  // resume: a new process picks the thread up from the saver and finishes it.
  await graph.invoke(command === 'start' ? { log: ['started'] } : null, THREAD);
  const snapshot = await graph.getState(THREAD);
  process.stdout.write(`${JSON.stringify(describe(snapshot.values as Order, snapshot.next))}\n`);
  await saver.close();
}

main().catch((error: unknown) => {
  process.stderr.write(`${String((error as Error)?.stack ?? error)}\n`);
  process.exitCode = 1;
});
