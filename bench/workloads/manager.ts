import 'reflect-metadata';
import { instanceToPlain, plainToInstance, Type } from 'class-transformer';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Checkpointable,
  CheckpointField,
  CheckpointManager,
  encodeValue,
  FileStorage,
  MemoryStorage,
} from 'checkpointable';
import { compare, type Budget } from '../harness';
import { ratioRow, type Row } from '../report';

// The same classes serve the manager (@CheckpointField) and class-transformer (@Type), so
// both sides of the comparison restore real instances with real Dates.

@Checkpointable({ name: 'BenchCustomer' })
class Customer {
  @CheckpointField() id!: string;
  @CheckpointField() name!: string;
  @CheckpointField() email!: string;
  @CheckpointField() @Type(() => Date) since!: Date;
}

@Checkpointable({ name: 'BenchLineItem' })
class LineItem {
  @CheckpointField() sku!: string;
  @CheckpointField() name!: string;
  @CheckpointField() quantity!: number;
  @CheckpointField() unitPrice!: number;
  @CheckpointField() @Type(() => Date) addedAt!: Date;
}

@Checkpointable({ name: 'BenchOrder' })
class Order {
  @CheckpointField() id!: string;
  @CheckpointField() @Type(() => Date) placedAt!: Date;
  @CheckpointField() @Type(() => Customer) customer!: Customer;
  @CheckpointField({ type: () => LineItem }) @Type(() => LineItem) items!: LineItem[];
}

/** An order graph of `objects` class instances: 1 order, 1 customer, the rest line items. */
function makeGraph(objects: number): Order {
  const start = Date.UTC(2025, 0, 1);
  const order = Object.assign(new Order(), {
    id: 'order-42',
    placedAt: new Date(start),
    customer: Object.assign(new Customer(), {
      id: 'c-17',
      name: 'Ada Lovelace',
      email: 'ada@example.com',
      since: new Date(start - 86_400_000),
    }),
    items: Array.from({ length: objects - 2 }, (_, i) =>
      Object.assign(new LineItem(), {
        sku: `SKU-${String(i).padStart(6, '0')}`,
        name: `Item number ${i}`,
        quantity: 1 + (i % 7),
        unitPrice: Math.round(((i * 37) % 10_000) + 99) / 100,
        addedAt: new Date(start + i * 60_000),
      }),
    ),
  });
  return order;
}

/** The same data as plain objects, as a service without classes would hold it. */
function plainOf(order: Order): unknown {
  return {
    id: order.id,
    placedAt: order.placedAt,
    customer: { ...order.customer },
    items: order.items.map((item) => ({ ...item })),
  };
}

/**
 * CheckpointManager save + restore of a 1,000-object graph, against JSON of the equivalent
 * plain data and against class-transformer on the same classes.
 */
export async function managerBenchmarks({ cpu, io }: { cpu: Budget; io: Budget }): Promise<Row[]> {
  return [...(await saveRestoreRows(cpu)), await fileSaveRow(io)];
}

/**
 * A manager save of a 1 KB state on durable FileStorage against FileStorage's own raw
 * commit of the same encoded bytes (create without the early check, putBytes, commit):
 * what the manager adds on top of the medium. Target: <= 1.2x.
 */
async function fileSaveRow(io: Budget): Promise<Row> {
  const root = mkdtempSync(join(tmpdir(), 'cp-bench-manager-'));
  try {
    const manager = new CheckpointManager(await FileStorage.open(join(root, 'managed')));
    const raw = await FileStorage.openRaw(join(root, 'raw'));
    const state = {
      items: Array.from({ length: 20 }, (_, i) => ({ sku: `SKU-${i}`, qty: i, at: new Date(i) })),
    };
    const bytes = encodeValue(state);
    let n = 0;
    const result = await compare(
      async () => {
        await manager.save(`s-${n++}`, { state });
      },
      {
        raw: async () => {
          const draft = await raw.createCheckpoint(`r-${n++}`, { checkExists: false });
          await draft.putBytes('state', bytes);
          await (await raw.commitCheckpoint(draft)).release();
        },
      },
      io,
    );
    await manager.close();
    await raw.close();
    return ratioRow({
      name: `manager save of a ${bytes.length} B state, durable FileStorage`,
      value: result.subjectMs,
      unit: 'ms',
      baselineName: "FileStorage's own commit of the same bytes",
      baseline: result.baselineMs.raw,
      ratio: result.ratio.raw,
      maxRatio: 1.2,
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

async function saveRestoreRows(cpu: Budget): Promise<Row[]> {
  const order = makeGraph(1000);
  const plain = plainOf(order);
  const manager = new CheckpointManager(new MemoryStorage());
  let n = 0;
  const saveRestore = async () => {
    const id = `order-${n++}`;
    await manager.save(id, { order });
    const back = await manager.restore(id, 'order', Order);
    await manager.remove(id);
    return back;
  };
  // Sanity: each side really restores what the comparison claims.
  const check = (await saveRestore()) as Order;
  const viaCt = plainToInstance(Order, JSON.parse(JSON.stringify(instanceToPlain(order))));
  if (!(check.items[5] instanceof LineItem) || !(check.items[5].addedAt instanceof Date)) {
    throw new Error('the manager did not restore instances');
  }
  if (!(viaCt.items[5] instanceof LineItem) || !(viaCt.items[5].addedAt instanceof Date)) {
    throw new Error('class-transformer did not restore instances');
  }
  const result = await compare(
    saveRestore,
    {
      json: () => JSON.parse(JSON.stringify(plain)),
      classTransformer: () =>
        plainToInstance(Order, JSON.parse(JSON.stringify(instanceToPlain(order)))),
    },
    cpu,
  );
  await manager.close();
  const name = 'manager save+restore, 1,000-object graph (MemoryStorage)';
  return [
    ratioRow({
      name,
      value: result.subjectMs,
      unit: 'ms',
      baselineName: 'JSON.stringify + JSON.parse of the plain data',
      baseline: result.baselineMs.json,
      ratio: result.ratio.json,
      maxRatio: 2,
    }),
    ratioRow({
      name: `${name}, vs class-transformer`,
      value: result.subjectMs,
      unit: 'ms',
      baselineName: 'instanceToPlain + stringify, parse + plainToInstance',
      baseline: result.baselineMs.classTransformer,
      ratio: result.ratio.classTransformer,
      maxRatio: 1 / 3,
      targetText: '<= 0.333x (>= 3x faster)',
    }),
  ];
}
