import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  Checkpointable,
  CheckpointField,
  CheckpointManager,
  FileStorage,
  MANIFEST_KEY,
  MemoryStorage,
  type Storage,
} from 'checkpointable';
import {
  Account,
  Customer,
  LineItem,
  Order,
  sampleCustomer,
  sampleOrder,
  VipCustomer,
} from '../fixtures/manager/domain';
import { expectCheckpointError } from '../fixtures/manager/expect-error';

@Checkpointable({ name: 'ListedAtVersion3', version: 3, migrations: { 1: (d) => d, 2: (d) => d } })
class ListedAtVersion3 {
  @CheckpointField() n: number = 1;
}

let storage: Storage;
let manager: CheckpointManager;

beforeEach(() => {
  storage = MemoryStorage.create(); // guarded: a leaked handle would make remove() fail
  manager = new CheckpointManager(storage);
});
afterEach(() => manager.close());

describe('save and restore', () => {
  it('restores an object graph as instances, with cycles and shared objects intact', async () => {
    const order = sampleOrder();
    await manager.save('order-42', { order });
    const restored = await manager.restore('order-42', 'order', Order);
    expect(restored).toBeInstanceOf(Order);
    expect(restored).not.toBe(order);
    expect(restored.items[0]).toBeInstanceOf(LineItem);
    expect(restored.items[0].order).toBe(restored);
    expect(restored.customer).toBeInstanceOf(Customer);
    expect(restored.placedAt).toEqual(order.placedAt);
    expect(restored.totals).toEqual(order.totals);
    expect(restored.items.map((i) => i.priceCents)).toEqual([120n, 99n]);
  });

  it('restores without a type, and fails cleanly when asked for the wrong type', async () => {
    await manager.save('a', { customer: sampleCustomer(), count: 3 });
    expect(await manager.restore('a', 'customer')).toBeInstanceOf(Customer);
    expect(await manager.restore('a', 'count', Number)).toBe(3);
    await expectCheckpointError(
      () => manager.restore('a', 'customer', Order),
      'Deserialize',
      'Cannot restore key "customer" of checkpoint "a" as Order: it holds a Customer. Ask for the type that was saved, or call get() without a type to inspect it.',
    );
  });

  it('snapshots every value when save() is called, not when it resolves', async () => {
    const customer = sampleCustomer();
    const saving = manager.save('snap', { customer, list: [1, 2] });
    customer.name = 'changed';
    await saving;
    expect((await manager.restore('snap', 'customer', Customer)).name).toBe('Ada');
  });

  it('brings an object shared by two keys back as two copies (each key is encoded alone)', async () => {
    const customer = sampleCustomer();
    const order = sampleOrder(customer);
    await manager.save('shared', { order, customer });
    const all = await manager.restoreAll('shared');
    expect(Object.keys(all).sort()).toEqual(['customer', 'order']);
    const restoredOrder = all.order as Order;
    expect(all.customer).toBeInstanceOf(Customer);
    expect(all.customer).toStrictEqual(restoredOrder.customer);
    expect(all.customer).not.toBe(restoredOrder.customer);
    // Saved under one key, the same object comes back as one object.
    await manager.save('together', { state: { order, customer } });
    const state = await manager.restore<{ order: Order; customer: Customer }>('together', 'state');
    expect(state.order.customer).toBe(state.customer);
  });

  it('keeps a key named __proto__ as a plain key in restoreAll', async () => {
    const values: Record<string, unknown> = { plain: 2 };
    Object.defineProperty(values, '__proto__', { value: 1, enumerable: true });
    await manager.save('proto', values);
    const all = await manager.restoreAll('proto');
    expect(Object.getPrototypeOf(all)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(all, '__proto__')?.value).toBe(1);
  });

  it('commits nothing when one value cannot be saved, names its path, and frees the identifier', async () => {
    class Money {
      constructor(readonly cents: number) {}
    }
    const order = sampleOrder();
    (order.items[1] as unknown as { sku: unknown }).sku = new Money(1);
    await expectCheckpointError(
      () => manager.save('bad', { good: 1, order }),
      'Serialize',
      'Cannot save order.items[1].sku (key "order" of checkpoint "bad"): it is an instance of Money, which is not registered; add @Checkpointable() to Money (and @CheckpointField() to the fields to save), or convert it to a plain object.',
    );
    expect(await manager.list()).toEqual([]);
    await manager.save('bad', { good: 1 });
    expect((await manager.list()).map((c) => c.identifier)).toEqual(['bad']);
  });

  it('checks the identifier, the keys and the values argument before encoding anything', async () => {
    await expectCheckpointError(
      () => manager.save('a/b', { n: 1 }),
      'InvalidIdentifier',
      "Invalid checkpoint identifier \"a/b\": it contains '/' at position 1. Use 1 to 255 characters without '/', '\\', control characters or lone surrogates, other than '.' and '..'.",
    );
    await expectCheckpointError(() => manager.save('a', { '..': 1 }), 'InvalidIdentifier');
    await expectCheckpointError(
      () => manager.save('a', [1, 2] as unknown as Record<string, unknown>),
      'Serialize',
      'save("a", values) takes an object of keys to values, as in save("a", { order }); got an array.',
    );
    expect(await manager.list()).toEqual([]);
  });

  it('refuses the reserved manifest key', async () => {
    await expectCheckpointError(
      () => manager.save('x', { [MANIFEST_KEY]: 1 }),
      'InvalidIdentifier',
      'The key "@checkpointable.manifest" in checkpoint "x" is reserved by CheckpointManager for the checkpoint\'s manifest; choose another key.',
    );
  });

  it('refuses to overwrite a committed checkpoint', async () => {
    await manager.save('once', { n: 1 });
    await expectCheckpointError(() => manager.save('once', { n: 2 }), 'AlreadyExists');
    expect(await manager.restore('once', 'n')).toBe(1);
  });

  it('releases every handle it takes, so a guarded storage lets checkpoints be removed', async () => {
    await manager.save('r', { order: sampleOrder() });
    await manager.restore('r', 'order', Order);
    await manager.restoreAll('r');
    await manager.restoreInto('r', 'order', new Order());
    await manager.list();
    await manager.remove('r');
    expect(await storage.checkpointIdentifiers()).toEqual([]);
  });
});

describe('restoreInto', () => {
  it('fills an existing instance, leaves unsaved properties alone, and points back-references at it', async () => {
    await manager.save('state', { order: sampleOrder() });
    const target = new Order();
    target.constructedBy = 'the service';
    const result = await manager.restoreInto('state', 'order', target);
    expect(result).toBe(target);
    expect(target.id).toBe('order-42');
    expect(target.constructedBy).toBe('the service');
    expect(target.items[0].order).toBe(target);
  });

  it('refuses a key holding another class or a plain value, leaving the target untouched', async () => {
    await manager.save('state', { customer: sampleCustomer(), n: 5 });
    const target = new Order();
    await expectCheckpointError(
      () => manager.restoreInto('state', 'customer', target),
      'Deserialize',
      'Cannot restore key "customer" of checkpoint "state" into an instance of Order: it holds a Customer. Restore it with manager.restore("state", "customer") instead.',
    );
    await expectCheckpointError(
      () => manager.restoreInto('state', 'n', target),
      'Deserialize',
      'Cannot restore key "n" of checkpoint "state" into an instance of Order: it holds a number. Restore it with manager.restore("state", "n") instead.',
    );
    expect(target.id).toBeUndefined();
  });

  it('refuses a target whose class is not @Checkpointable', async () => {
    await manager.save('state', { n: 5 });
    await expectCheckpointError(
      () => manager.restoreInto('state', 'n', new Map()),
      'Metadata',
      "Map is not @Checkpointable; add @Checkpointable({ name: 'Map' }) to the class and @CheckpointField() to the fields to save.",
    );
  });
});

describe('transactions', () => {
  it('adds values one by one and commits them at once', async () => {
    const tx = await manager.begin('tx');
    await tx.add('a', sampleCustomer());
    await tx.add('b', new Account('bob'));
    expect(await manager.list()).toEqual([]);
    const info = await tx.commit();
    expect(info).toEqual({
      identifier: 'tx',
      createdAt: expect.any(Date),
      keys: ['a', 'b'],
      classes: ['Account', 'Customer'],
      classVersions: [
        { name: 'Account', version: 1 },
        { name: 'Customer', version: 1 },
      ],
    });
    expect((await manager.restore('tx', 'b', Account)).owner).toBe('bob');
    await expectCheckpointError(
      () => tx.add('c', 1),
      'Released',
      'The transaction on checkpoint "tx" was committed; start a new one with manager.begin("tx").',
    );
  });

  it('discards, also through await using, and frees the identifier', async () => {
    {
      await using tx = await manager.begin('gone');
      await tx.add('a', 1);
    }
    const again = await manager.begin('gone');
    await again.discard();
    await expectCheckpointError(
      () => again.commit(),
      'Released',
      'The transaction on checkpoint "gone" was discarded; start a new one with manager.begin("gone").',
    );
    expect(await manager.list()).toEqual([]);
  });
});

describe('list, remove and prune', () => {
  it('lists identifiers with creation time, keys and every class inside', async () => {
    const vip = Object.assign(new VipCustomer(), { name: 'V', since: new Date(0), level: 1 });
    await manager.save('one', { order: sampleOrder(vip), n: 1 });
    // A checkpoint written without the manager has no manifest.
    const draft = await storage.createCheckpoint('two');
    await draft.put('raw', 1);
    await (await storage.commitCheckpoint(draft)).release();
    const list = await manager.list();
    expect(list).toEqual([
      {
        identifier: 'one',
        createdAt: expect.any(Date),
        keys: ['n', 'order'],
        classes: ['LineItem', 'Order', 'VipCustomer'],
        classVersions: [
          { name: 'LineItem', version: 1 },
          { name: 'Order', version: 1 },
          { name: 'VipCustomer', version: 1 },
        ],
      },
      {
        identifier: 'two',
        createdAt: expect.any(Date),
        keys: ['raw'],
        classes: [],
        classVersions: [],
      },
    ]);
    expect(list[0].createdAt.getTime()).toBeLessThanOrEqual(list[1].createdAt.getTime());
  });

  // Regression: list() dropped the versions the manifest stores next to the class names.
  it('reports the version each class was saved at', async () => {
    const info = await manager.save('versioned', { v: new ListedAtVersion3() });
    const expected = [{ name: 'ListedAtVersion3', version: 3 }];
    expect(info.classVersions).toEqual(expected);
    expect((await manager.list()).map((c) => [c.classes, c.classVersions])).toEqual([
      [['ListedAtVersion3'], expected],
    ]);
  });

  it('treats a manifest with a damaged class entry as no manifest, without crashing', async () => {
    for (const [id, classes] of [
      ['null-entry', [null]],
      ['negative-version', [{ name: 'X', version: -1 }]],
      ['numeric-name', [{ name: 7, version: 1 }]],
    ] as const) {
      const draft = await storage.createCheckpoint(id);
      await draft.put('raw', 1);
      await draft.put(MANIFEST_KEY, { format: 1, keys: ['raw'], classes });
      await (await storage.commitCheckpoint(draft)).release();
    }
    const list = await manager.list();
    expect(list.map((c) => [c.identifier, c.keys, c.classes, c.classVersions])).toEqual(
      expect.arrayContaining([
        ['null-entry', ['raw'], [], []],
        ['negative-version', ['raw'], [], []],
        ['numeric-name', ['raw'], [], []],
      ]),
    );
    expect(list).toHaveLength(3);
  });

  it('prunes all but the newest keepLast', async () => {
    for (const id of ['c1', 'c2', 'c3', 'c4']) await manager.save(id, { id });
    expect(await manager.prune({ keepLast: 2 })).toEqual({
      removed: ['c1', 'c2'],
      inUse: [],
      damaged: [],
    });
    expect((await manager.list()).map((c) => c.identifier)).toEqual(['c3', 'c4']);
  });

  it('prunes by age, never touching the newest keepLast, and skips checkpoints in use', async () => {
    for (const id of ['c1', 'c2', 'c3']) await manager.save(id, { id });
    const held = await storage.loadCheckpoint('c1');
    const future = new Date(Date.now() + 60_000);
    expect(await manager.prune({ olderThan: new Date(0) })).toEqual({
      removed: [],
      inUse: [],
      damaged: [],
    });
    // An age in milliseconds: nothing here is an hour old.
    expect(await manager.prune({ olderThan: 3600_000 })).toEqual({
      removed: [],
      inUse: [],
      damaged: [],
    });
    expect(await manager.prune({ keepLast: 1, olderThan: future })).toEqual({
      removed: ['c2'],
      inUse: ['c1'],
      damaged: [],
    });
    await held.release();
    expect(await manager.prune({ olderThan: future })).toEqual({
      removed: ['c1', 'c3'],
      inUse: [],
      damaged: [],
    });
  });

  it('refuses prune without a rule or with a bad one', async () => {
    await expectCheckpointError(
      () => manager.prune({}),
      'Other',
      'prune() needs keepLast, olderThan or both, as in prune({ keepLast: 10 }); it removes nothing without a rule.',
    );
    await expectCheckpointError(
      () => manager.prune({ keepLast: -1 }),
      'Other',
      'prune({ keepLast: -1 }): keepLast is the number of newest checkpoints to keep, an integer 0 or more.',
    );
  });

  it('removes a checkpoint, and reports an unknown one', async () => {
    await manager.save('x', { n: 1 });
    await manager.remove('x');
    await expectCheckpointError(() => manager.remove('x'), 'NotFound');
  });
});

describe('close', () => {
  it('discards open transactions, closes the storage and refuses further use', async () => {
    const tx = await manager.begin('open');
    await manager.close();
    expect(tx.isOpen).toBe(false);
    await manager.close(); // idempotent
    await expectCheckpointError(
      () => manager.save('late', { n: 1 }),
      'Released',
      'This CheckpointManager was closed (manager.close() or container.dispose()), and its storage with it; register checkpointing again or create a new manager over an open storage.',
    );
  });
});

describe('over a FileStorage', () => {
  it('finds what another manager saved in the same folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cp-manager-'));
    const first = new CheckpointManager(await FileStorage.open(dir, { durability: 'atomic' }));
    await first.save('order-42', { order: sampleOrder() });
    await first.close();
    const second = new CheckpointManager(await FileStorage.open(dir, { durability: 'atomic' }));
    const order = await second.restore('order-42', 'order', Order);
    expect(order.items[1].order).toBe(order);
    expect((await second.list()).map((c) => c.classes)).toEqual([
      ['Customer', 'LineItem', 'Order'],
    ]);
    await second.close();
  });
});
