import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  Checkpointable,
  CheckpointField,
  CheckpointManager,
  FileStorage,
  formatSeriesIdentifier,
  hasPrefixListing,
  listIdentifiersWithPrefix,
  MemoryStorage,
  parseSeriesIdentifier,
  type Storage,
} from 'checkpointable';
import { PostgresStorage } from 'checkpointable/postgres';
import { RedisStorage } from 'checkpointable/redis';
import { expectCheckpointError } from '../fixtures/manager/expect-error';
import { InstrumentedWrapper } from '../fixtures/series/instrumented-wrapper';
import { DATABASE_URL, postgresAnswers, TestTables } from '../postgres/postgres-server';
import { REDIS_URL, redisAnswers, TestPrefixes } from '../redis/redis-server';

@Checkpointable({ name: 'test.series.Book' })
class Book {
  @CheckpointField() orders: string[] = [];
}

function book(...orders: string[]): Book {
  return Object.assign(new Book(), { orders });
}

describe('series identifiers', () => {
  it('format as @series:<name>:<12 digits> and parse back', () => {
    expect(formatSeriesIdentifier('orders', 42)).toBe('@series:orders:000000000042');
    expect(parseSeriesIdentifier('@series:orders:000000000042')).toEqual({
      series: 'orders',
      sequence: 42,
    });
    expect(parseSeriesIdentifier(formatSeriesIdentifier('a.b-c', 999_999_999_999))).toEqual({
      series: 'a.b-c',
      sequence: 999_999_999_999,
    });
  });

  it.each([
    'order-42',
    '@series:orders:42',
    '@series:orders:000000000000',
    '@series:orders:0000000000042',
    '@series:a:b:000000000001',
    '@series::000000000001',
    '@series:orders:00000000004x',
  ])('%s is not a series identifier', (identifier) => {
    expect(parseSeriesIdentifier(identifier)).toBeUndefined();
  });

  it('refuses bad series names and sequence numbers', async () => {
    await expectCheckpointError(
      () => formatSeriesIdentifier('a:b', 1),
      'InvalidIdentifier',
      `Invalid series name "a:b": it contains ':' at position 1. Use 1 to 200 characters without ':', '/', '\\' or control characters, other than '.' and '..'.`,
    );
    await expectCheckpointError(
      () => formatSeriesIdentifier('x'.repeat(201), 1),
      'InvalidIdentifier',
    );
    await expectCheckpointError(
      () => formatSeriesIdentifier('orders', 0),
      'InvalidIdentifier',
      'Series "orders" has no sequence number 0: sequence numbers are integers from 1 to 999999999999.',
    );
    expect(formatSeriesIdentifier('x'.repeat(200), 1)).toHaveLength(221);
  });
});

const tables = new TestTables();
const prefixes = new TestPrefixes();
afterAll(async () => {
  await tables.dropAll();
  await prefixes.dropAll();
});

const backends: [string, () => Promise<Storage>][] = [
  ['MemoryStorage', async () => MemoryStorage.create()],
  ['FileStorage', () => FileStorage.open(mkdtempSync(join(tmpdir(), 'cp-series-')))],
];
if (postgresAnswers()) {
  backends.push([
    'PostgresStorage',
    () => PostgresStorage.open({ connectionString: DATABASE_URL, table: tables.next() }),
  ]);
}
if (redisAnswers()) {
  backends.push([
    'RedisStorage',
    () => RedisStorage.open({ url: REDIS_URL, prefix: prefixes.next() }),
  ]);
}

describe.each(backends)('series on %s', (_name, open) => {
  let storage: Storage;
  let manager: CheckpointManager;
  beforeEach(async () => {
    storage = await open();
    manager = new CheckpointManager(storage);
  });
  afterEach(() => manager.close());

  it('saves numbered checkpoints, restores the latest, lists history newest first', async () => {
    const orders = manager.series('orders');
    expect(await orders.latest()).toBeUndefined();
    expect(await orders.restoreLatest('book', Book)).toBeUndefined();
    const first = await orders.save({ book: book('a') });
    expect(first).toMatchObject({
      identifier: '@series:orders:000000000001',
      series: 'orders',
      sequence: 1,
      keys: ['book'],
      classes: ['test.series.Book'],
      retention: { removed: [], inUse: [], damaged: [] },
    });
    await orders.save({ book: book('a', 'b') });
    await orders.save({ book: book('a', 'b', 'c') });
    const restored = await orders.restoreLatest('book', Book);
    expect(restored).toBeInstanceOf(Book);
    expect(restored!.orders).toEqual(['a', 'b', 'c']);
    expect(await orders.latest()).toMatchObject({
      identifier: '@series:orders:000000000003',
      sequence: 3,
      keys: ['book'],
    });
    expect((await orders.history()).map((i) => i.sequence)).toEqual([3, 2, 1]);
    expect((await orders.history({ limit: 2 })).map((i) => i.sequence)).toEqual([3, 2]);
    expect((await orders.history({ before: 3, limit: 1 })).map((i) => i.sequence)).toEqual([2]);
    expect(await orders.history({ before: 1 })).toEqual([]);

    const into = book('stale');
    expect(await orders.restoreLatestInto('book', into)).toBe(into);
    expect(into.orders).toEqual(['a', 'b', 'c']);
  });

  it('queues concurrent saves of one handle instead of conflicting with itself', async () => {
    const orders = manager.series('orders');
    await orders.latest();
    const infos = await Promise.all([1, 2, 3].map((n) => orders.save({ book: book(`${n}`) })));
    expect(infos.map((i) => i.sequence)).toEqual([1, 2, 3]);
    expect((await orders.restoreLatest('book', Book))!.orders).toEqual(['3']);
  });

  it('keeps series apart from each other and from user checkpoints', async () => {
    await manager.save('orders-1', { book: book('user') });
    await manager.series('orders').save({ book: book('o') });
    await manager.series('a-b').save({ book: book('ab') });
    const a = manager.series('a');
    await a.save({ book: book('a') });
    await a.save({ book: book('a2') }); // the same handle: it saw its own first save
    expect(await manager.seriesNames()).toEqual(['a', 'a-b', 'orders']);
    expect((await manager.series('a').restoreLatest('book', Book))!.orders).toEqual(['a2']);
    expect((await manager.series('a-b').latest())!.sequence).toBe(1);
  });

  it('refuses identifiers in the reserved namespace in save() and begin()', async () => {
    const message = `manager.save("@series:orders:000000000001"): identifiers starting with '@series:' are reserved for checkpoint series; save into a series with manager.series("orders").save(values), or choose an identifier without that prefix.`;
    await expectCheckpointError(
      () => manager.save('@series:orders:000000000001', { x: 1 }),
      'InvalidIdentifier',
      message,
    );
    await expectCheckpointError(
      () => manager.begin('@series:anything'),
      'InvalidIdentifier',
      `manager.begin("@series:anything"): identifiers starting with '@series:' are reserved for checkpoint series; save into a series with manager.series(name).save(values), or choose an identifier without that prefix.`,
    );
    expect(await storage.checkpointIdentifiers()).toEqual([]);
  });

  it('gives a stale writer a Conflict naming where it started and what is latest', async () => {
    await manager.series('orders').save({ book: book('1') });
    const a = manager.series('orders');
    const b = manager.series('orders');
    await a.restoreLatest('book', Book);
    await b.restoreLatest('book', Book);
    expect((await a.save({ book: book('from a') })).sequence).toBe(2);
    const conflict = await expectCheckpointError(
      () => b.save({ book: book('from b') }),
      'Conflict',
      `Series "orders" changed under this writer: this handle started from sequence 1, but sequence 2 is now the latest, saved by another process or replica. Nothing was saved, so the newer checkpoint is kept. Restore the latest (series.restoreLatest(...)) and re-apply the change, then save again; a single-writer app that may overwrite can open the series with { onConflict: 'overwrite-latest' }.`,
    );
    expect(conflict.identifier).toBe('@series:orders:000000000002');
    expect((await b.restoreLatest('book', Book))!.orders).toEqual(['from a']);

    // A handle that has seen nothing does not write over a non-empty series either.
    await expectCheckpointError(
      () => manager.series('orders').save({ book: book('blind') }),
      'Conflict',
      `Series "orders" changed under this writer: this handle has seen no checkpoint of it (no latest(), restoreLatest() or save() yet), but sequence 2 is now the latest, saved by another process or replica. Nothing was saved, so the newer checkpoint is kept. Restore the latest (series.restoreLatest(...)) and re-apply the change, then save again; a single-writer app that may overwrite can open the series with { onConflict: 'overwrite-latest' }.`,
    );
    expect((await b.save({ book: book('b again') })).sequence).toBe(3);
    expect((await manager.series('orders').history()).map((i) => i.sequence)).toEqual([3, 2, 1]);
  });

  it("with onConflict: 'overwrite-latest', takes the next free number", async () => {
    await manager.series('orders').save({ book: book('1') });
    const blind = manager.series('orders', { onConflict: 'overwrite-latest' });
    expect((await blind.save({ book: book('2') })).sequence).toBe(2);
    const other = manager.series('orders');
    await other.latest();
    await other.save({ book: book('3') });
    expect((await blind.save({ book: book('4') })).sequence).toBe(4);
    expect((await blind.restoreLatest('book', Book))!.orders).toEqual(['4']);
  });

  it('applies keepLast after each save, never touching other series', async () => {
    await manager.series('audit').save({ book: book('audit') });
    const orders = manager.series('orders', { keepLast: 2 });
    await orders.latest();
    for (let i = 1; i <= 4; i++) await orders.save({ book: book(String(i)) });
    expect((await orders.history()).map((i) => i.sequence)).toEqual([4, 3]);
    const fifth = await orders.save({ book: book('5') });
    expect(fifth.retention).toEqual({
      removed: ['@series:orders:000000000003'],
      inUse: [],
      damaged: [],
    });
    expect(await manager.seriesNames()).toEqual(['audit', 'orders']);
    expect((await manager.series('audit').latest())!.sequence).toBe(1);
  });

  it('applies olderThan, keeping the newest checkpoint whatever its age', async () => {
    const orders = manager.series('orders', { olderThan: new Date(Date.now() + 3_600_000) });
    await orders.latest();
    await orders.save({ book: book('1') });
    await orders.save({ book: book('2') });
    const third = await orders.save({ book: book('3') });
    expect(third.retention.removed).toEqual(['@series:orders:000000000002']);
    expect((await orders.history()).map((i) => i.sequence)).toEqual([3]);

    const young = manager.series('young', { olderThan: 3_600_000, keepLast: 1 });
    await young.latest();
    await young.save({ book: book('1') });
    expect((await young.save({ book: book('2') })).retention.removed).toEqual([]);
  });

  it('refuses bad options', async () => {
    await expectCheckpointError(
      () => manager.series('orders', { keepLast: 0 }),
      'Other',
      'manager.series("orders", ...): keepLast is 0; it is the number of newest checkpoints to keep, an integer 1 or more (the latest always stays).',
    );
    await expectCheckpointError(
      () => manager.series('orders', { olderThan: -1 }),
      'Other',
      'manager.series("orders", ...): olderThan is -1; it is a Date or an age in milliseconds (0 or more).',
    );
    await expectCheckpointError(
      () => manager.series('orders', { onConflict: 'ignore' as 'fail' }),
      'Other',
    );
    await expectCheckpointError(() => manager.series('a/b'), 'InvalidIdentifier');
    await expectCheckpointError(
      () => manager.series('orders').history({ before: 0 }),
      'Other',
      'series("orders").history({ before: 0 }): before is a sequence number, an integer 1 or more.',
    );
  });

  it('answers Integrity for a malformed identifier in the reserved namespace', async () => {
    const draft = await storage.createCheckpoint('@series:orders:00000000009x');
    await (await storage.commitCheckpoint(draft)).release();
    await expectCheckpointError(
      () => manager.series('orders').latest(),
      'Integrity',
      `The storage holds "@series:orders:00000000009x" in the reserved namespace of series "orders", but it is not a series identifier (@series:orders: and 12 digits from 000000000001); it was not written by a series. Remove it with manager.remove("@series:orders:00000000009x").`,
    );
    await expectCheckpointError(() => manager.seriesNames(), 'Integrity');
    await manager.remove('@series:orders:00000000009x');
    expect(await manager.series('orders').latest()).toBeUndefined();
  });
});

describe('a stale commit into a number another writer pruned', () => {
  it.each([{ keepLast: 5 }, {}])(
    'is removed again and answered with Conflict (%j)',
    async (options) => {
      const medium = new MemoryStorage();
      const slow = new InstrumentedWrapper(medium); // writer A's commits wait until released
      const a = new CheckpointManager(slow).series('orders', options);
      const b = new CheckpointManager(new InstrumentedWrapper(medium)).series('orders', {
        keepLast: 1,
      });
      await a.latest();
      await a.save({ book: book('1') });
      slow.hold();
      const stale = a.save({ book: book('A from 1') }); // passes its check, then waits to commit
      await new Promise((resolve) => setImmediate(resolve));
      await b.latest();
      await b.save({ book: book('B 2') });
      await b.save({ book: book('B 3') }); // keepLast 1 removes 1 and 2: number 2 is free again
      expect(await medium.checkpointIdentifiers()).toEqual(['@series:orders:000000000003']);
      slow.release();
      await expectCheckpointError(
        () => stale,
        'Conflict',
        `Series "orders" changed under this writer: this handle started from sequence 1, but sequence 3 is now the latest, saved by another process or replica. Nothing was saved, so the newer checkpoint is kept. Restore the latest (series.restoreLatest(...)) and re-apply the change, then save again; a single-writer app that may overwrite can open the series with { onConflict: 'overwrite-latest' }.`,
      );
      expect(await medium.checkpointIdentifiers()).toEqual(['@series:orders:000000000003']);
    },
  );
});

describe('a newer checkpoint committed right after ours', () => {
  it('is a writer that saw ours: no Conflict, and ours stays', async () => {
    const medium = new MemoryStorage();
    const slow = new InstrumentedWrapper(medium);
    const a = new CheckpointManager(slow).series('orders');
    const b = new CheckpointManager(new InstrumentedWrapper(medium)).series('orders');
    await a.latest();
    await a.save({ book: book('1') });
    let open!: () => void;
    // A's check after its next commit waits: meanwhile B restores A's checkpoint and saves.
    const checkAfterCommit = new Promise<void>((resolve) => (open = resolve));
    let listings = 0;
    const original = slow.checkpointIdentifiersWithPrefix.bind(slow);
    slow.checkpointIdentifiersWithPrefix = async (prefix, options) => {
      if (++listings === 2) await checkAfterCommit; // the 1st is the check before the commit
      return original(prefix, options);
    };
    const saving = a.save({ book: book('A 2') });
    while (!(await medium.checkpointIdentifiers()).includes('@series:orders:000000000002')) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    await new Promise((resolve) => setTimeout(resolve, 5)); // B's commit is a later moment
    expect((await b.restoreLatest('book', Book))!.orders).toEqual(['A 2']);
    await b.save({ book: book('B 3 on A 2') });
    open();
    expect((await saving).sequence).toBe(2);
    expect(await medium.checkpointIdentifiers()).toEqual([
      '@series:orders:000000000001',
      '@series:orders:000000000002',
      '@series:orders:000000000003',
    ]);
    // A is stale now, and its next save says so.
    await expectCheckpointError(() => a.save({ book: book('A 3') }), 'Conflict');
  });
});

describe('retention and live handles', () => {
  it('keeps a checkpoint a handle holds and reports it as inUse', async () => {
    const storage = MemoryStorage.create();
    const manager = new CheckpointManager(storage);
    const orders = manager.series('orders', { keepLast: 1 });
    await orders.latest();
    await orders.save({ book: book('1') });
    const held = await storage.loadCheckpoint('@series:orders:000000000001');
    const second = await orders.save({ book: book('2') });
    expect(second.retention).toEqual({
      removed: [],
      inUse: ['@series:orders:000000000001'],
      damaged: [],
    });
    await held.release();
    const third = await orders.save({ book: book('3') });
    expect(third.retention.removed).toEqual([
      '@series:orders:000000000001',
      '@series:orders:000000000002',
    ]);
    await manager.close();
  });
});

describe('prefix listing', () => {
  it('MemoryStorage and wrappers list by prefix; storages without it are listed in full', async () => {
    const memory = MemoryStorage.create();
    const file = await FileStorage.open(mkdtempSync(join(tmpdir(), 'cp-prefix-')));
    expect(hasPrefixListing(memory)).toBe(true);
    for (const storage of [memory, file]) {
      for (const id of ['a:1', 'a:3', 'a:2', 'ab:1', 'b:1']) {
        await (await storage.commitCheckpoint(await storage.createCheckpoint(id))).release();
      }
      expect(await listIdentifiersWithPrefix(storage, 'a:')).toEqual(['a:1', 'a:2', 'a:3']);
      expect(
        await listIdentifiersWithPrefix(storage, 'a:', { descending: true, limit: 2 }),
      ).toEqual(['a:3', 'a:2']);
      expect(await listIdentifiersWithPrefix(storage, 'a:', { before: 'a:3' })).toEqual([
        'a:1',
        'a:2',
      ]);
      await expectCheckpointError(
        () => listIdentifiersWithPrefix(storage, 'a:', { limit: -1 }),
        'Other',
        'Listing identifiers with limit -1: limit is a number of identifiers, an integer 0 or more.',
      );
      await storage.close();
    }
  });

  it("checks a storage's own prefix listing like any answer from storage", async () => {
    const inner = new MemoryStorage();
    // A storage whose prefix listing answers out of order and outside the prefix.
    const lying = Object.assign(Object.create(inner) as MemoryStorage, {
      checkpointIdentifiersWithPrefix: async () => ['a:1', 'b:9'],
    });
    await expectCheckpointError(
      () => listIdentifiersWithPrefix(lying, 'a:'),
      'Integrity',
      `The storage listed identifiers with prefix "a:" wrongly: entry 1 does not start with the prefix. The storage's checkpointIdentifiersWithPrefix() is broken; list with checkpointIdentifiers() instead or fix it.`,
    );
    const unordered = Object.assign(Object.create(inner) as MemoryStorage, {
      checkpointIdentifiersWithPrefix: async () => ['a:2', 'a:1'],
    });
    await expectCheckpointError(() => listIdentifiersWithPrefix(unordered, 'a:'), 'Integrity');
    // Without a prefix listing, the full listing is checked too.
    const garbled = {
      ...MemoryStorage.create(),
      checkpointIdentifiers: async () => ['a:1', 42] as unknown as string[],
    } as Storage;
    await expectCheckpointError(
      () => listIdentifiersWithPrefix(garbled, 'a:'),
      'Integrity',
      "The storage's checkpointIdentifiers() did not answer an array of identifiers; the storage is broken or not a checkpoint storage.",
    );
  });
});
