import { randomBytes } from 'node:crypto';
import {
  buildWrapperChain,
  Checkpointable,
  CheckpointField,
  CheckpointManager,
  CheckpointSeries,
  parseSeriesIdentifier,
  FileStorage,
  type Storage,
} from 'checkpointable';

/** A class the bin has never seen: `show` must name it and its fields anyway. */
@Checkpointable({ name: 'Order', version: 2 })
export class Order {
  @CheckpointField() id: number = 0;
  @CheckpointField() placedAt: Date = new Date(0);
  @CheckpointField() lines: Map<string, bigint> = new Map();
  @CheckpointField() tags: Set<string> = new Set();
  @CheckpointField({ type: () => Customer }) customer: Customer | undefined;
}

@Checkpointable({ name: 'Customer' })
export class Customer {
  @CheckpointField() name: string = '';
  @CheckpointField({ type: () => Customer }) referredBy: Customer | undefined;
}

/** An order with every kind of value the bin must show with its type. */
export function sampleOrder(id: number): Order {
  const order = new Order();
  order.id = id;
  order.placedAt = new Date(Date.UTC(2026, 10, id % 28 || 1, 12));
  order.lines = new Map([
    ['apple', 3n],
    ['pear', 12345678901234567890n],
  ]);
  order.tags = new Set(['rush', 'gift']);
  const ann = new Customer();
  ann.name = 'Ann';
  const bob = new Customer();
  bob.name = 'Bob';
  bob.referredBy = ann;
  ann.referredBy = bob; // a cycle through two instances of one class
  order.customer = bob;
  return order;
}

/** 32 random bytes as base64: a key for the hmac and encrypt wrappers. */
export function newKey(): string {
  return randomBytes(32).toString('base64');
}

/** The wrapper configs the bin builds from names and the environment. */
export function chain(
  names: string[],
  keys: { hmac?: string; encrypt?: string } = {},
): Parameters<typeof buildWrapperChain>[1] {
  return names.map((n) =>
    n === 'hmac'
      ? { hmac: { key: keys.hmac! } }
      : n === 'encrypt'
        ? { encrypt: { key: keys.encrypt! } }
        : (n as 'checksum' | 'guard'),
  );
}

/**
 * Saves `count` checkpoints with the manager (orders and a plain value each) into
 * `storage`, with a second between their creation times so that their order is known.
 */
export async function saveOrders(storage: Storage, ids: string[]): Promise<void> {
  const manager = new CheckpointManager(storage);
  const series = new Map<string, CheckpointSeries>();
  for (const [i, id] of ids.entries()) {
    const values = {
      order: sampleOrder(i + 1),
      note: { text: `note ${i}`, at: new Date(Date.UTC(2026, 0, 1)), n: -0, big: 10n ** 20n },
    };
    const inSeries = parseSeriesIdentifier(id);
    if (inSeries === undefined) {
      await manager.save(id, values);
      continue;
    }
    // Series identifiers are the series' to choose: save through it, in sequence order.
    let handle = series.get(inSeries.series);
    if (handle === undefined)
      series.set(inSeries.series, (handle = manager.series(inSeries.series)));
    const saved = await handle.save(values);
    if (saved.identifier !== id) throw new Error(`saved ${saved.identifier}, expected ${id}`);
  }
}

/** A FileStorage folder wrapped in `names`, as the bin opens it. */
export async function openFileChain(
  dir: string,
  names: string[],
  keys: { hmac?: string; encrypt?: string } = {},
): Promise<Storage> {
  return buildWrapperChain(await FileStorage.openRaw(dir), chain(names, keys));
}
