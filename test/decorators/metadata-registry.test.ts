import { describe, expect, it } from 'vitest';
import {
  Checkpointable,
  CheckpointField,
  decodeValue,
  encodeValue,
  metadataRegistry,
} from 'checkpointable';
import {
  Account,
  Customer,
  LineItem,
  Order,
  sampleOrder,
  VipCustomer,
} from '../fixtures/manager/domain';
import { expectCheckpointError } from '../fixtures/manager/expect-error';
import { rawBytes, storedInstance } from '../fixtures/manager/raw-bytes';

function roundTrip<T>(value: T): T {
  return decodeValue(encodeValue(value)) as T;
}

describe('the metadata registry', () => {
  it('compiles a plan once per class and caches it', () => {
    const first = metadataRegistry.planOf(Order);
    expect(metadataRegistry.planOf(Order)).toBe(first);
    expect(metadataRegistry.byName('Order')).toBe(first);
    expect(metadataRegistry.byConstructor(Order)).toBe(first);
    expect(first.fieldNames).toEqual(['id', 'placedAt', 'items', 'customer', 'totals']);
    expect(first.fields.map((f) => [f.name, f.type.name, f.container?.name])).toEqual([
      ['id', 'String', undefined],
      ['placedAt', 'Date', undefined],
      ['items', 'LineItem', 'Array'],
      ['customer', 'Customer', undefined],
      ['totals', 'Number', 'Map'],
    ]);
  });

  it('gives a subclass its parent fields first, then its own', () => {
    expect(metadataRegistry.planOf(VipCustomer).fieldNames).toEqual([
      'name',
      'since',
      'tags',
      'level',
    ]);
    expect(metadataRegistry.planOf(Customer).fieldNames).toEqual(['name', 'since', 'tags']);
  });

  it('finds no plan for a class without decorators', () => {
    class Plain {}
    expect(metadataRegistry.byConstructor(Plain)).toBeUndefined();
    expect(metadataRegistry.byName('Plain')).toBeUndefined();
  });

  it('refuses a name two classes use, naming both', async () => {
    @Checkpointable({ name: 'Clash' })
    class First {}
    void First;
    await expectCheckpointError(
      () => {
        @Checkpointable({ name: 'Clash' })
        class Second {}
        return Second;
      },
      'Metadata',
      "The checkpoint name 'Clash' is used by two classes: First and Second; names are stored with the data and must be unique: give one of them another name with @Checkpointable({ name: '...' }).",
    );
  });

  it('refuses a bad version and misnumbered migrations', async () => {
    await expectCheckpointError(
      () => Checkpointable({ name: 'V0', version: 0 })(class V0 {}),
      'Metadata',
      "@Checkpointable({ name: 'V0' }) on V0 has version 0; a version is a positive integer (1, 2, 3, ...).",
    );
    await expectCheckpointError(
      () => Checkpointable({ name: 'M2', version: 2, migrations: { 2: (d) => d } })(class M2 {}),
      'Metadata',
      "@Checkpointable({ name: 'M2' }) on M2 has migrations[2], but with version 2 the migrations are numbered 1 to 1 (migrations[N] upgrades version N to N + 1); renumber it or raise the version.",
    );
  });

  it('refuses a half-annotated class when it is saved, naming the decorator to add', async () => {
    class Draft {
      @CheckpointField() title: string = 'x';
    }
    await expectCheckpointError(
      () => encodeValue({ draft: new Draft() }),
      'Metadata',
      "Draft has @CheckpointField() fields (its own or inherited) but is not @Checkpointable itself; add @Checkpointable({ name: 'Draft' }) to Draft.",
    );
    class SubCustomer extends Customer {}
    await expectCheckpointError(
      () => encodeValue(new SubCustomer()),
      'Metadata',
      "SubCustomer has @CheckpointField() fields (its own or inherited) but is not @Checkpointable itself; add @Checkpointable({ name: 'SubCustomer' }) to SubCustomer.",
    );
  });

  it('names the class and the decorator when an unregistered instance is saved', async () => {
    class Money {
      constructor(readonly cents: number) {}
    }
    await expectCheckpointError(
      () => encodeValue({ order: { total: new Money(5) } }, { key: 'state' }),
      'Serialize',
      'Cannot save state.order.total (key "state"): it is an instance of Money, which is not registered; add @Checkpointable() to Money (and @CheckpointField() to the fields to save), or convert it to a plain object.',
    );
  });
});

describe('restoring instances', () => {
  it('round-trips a graph with a cycle, a shared object, Date, Map, Set and bigint', () => {
    const order = sampleOrder();
    const copy = roundTrip({ order, again: order });
    expect(copy.again).toBe(copy.order);
    const o = copy.order;
    expect(o).toBeInstanceOf(Order);
    expect(o).not.toBe(order);
    expect(o.placedAt).toEqual(new Date('2026-01-02T03:04:05.006Z'));
    expect(o.items.map((i) => [i.constructor, i.sku, i.quantity, i.priceCents])).toEqual([
      [LineItem, 'apple', 3, 120n],
      [LineItem, 'pear', 1, 99n],
    ]);
    expect(o.items[0].order).toBe(o);
    expect(o.items[1].order).toBe(o);
    expect(o.totals).toEqual(
      new Map([
        ['net', 4.59],
        ['tax', 0.87],
      ]),
    );
    expect(o.customer.tags).toEqual(new Set(['early', 'b2b']));
  });

  it('runs a zero-argument constructor, so unsaved field initialisers exist', () => {
    const copy = roundTrip(sampleOrder());
    expect(copy.constructedBy).toBe('constructor');
    // The customer's cache was not saved: it comes back empty, from the initialiser.
    expect(copy.customer.cache).toEqual(new Map());
  });

  it('never runs a constructor that takes arguments', () => {
    const account = new Account('  ada ');
    account.balance = 30;
    const before = Account.constructed;
    const copy = roundTrip(account);
    expect(Account.constructed).toBe(before);
    expect(copy).toBeInstanceOf(Account);
    expect({ ...copy }).toEqual({ owner: 'ada', balance: 30 });
  });

  it("skips the constructor with construct: 'never'", () => {
    @Checkpointable({ name: 'NeverConstructed', construct: 'never' })
    class NeverConstructed {
      @CheckpointField() n: number = 1;
      extra = 'initialiser';
    }
    const copy = roundTrip(new NeverConstructed());
    expect(copy).toBeInstanceOf(NeverConstructed);
    expect(Object.keys(copy)).toEqual(['n']);
  });

  it('turns a throwing zero-argument constructor into a Metadata error with the fix', async () => {
    let armed = false;
    @Checkpointable({ name: 'Fragile' })
    class Fragile {
      @CheckpointField() n: number = 1;
      constructor() {
        if (armed) throw new Error('no config loaded');
      }
    }
    const bytes = encodeValue(new Fragile());
    armed = true;
    await expectCheckpointError(
      () => decodeValue(bytes, { key: 'f' }),
      'Metadata',
      "Key \"f\": Restoring Fragile ran its constructor without arguments, which threw: no config loaded; make the constructor work without arguments, or set @Checkpointable({ name: 'Fragile', construct: 'never' }) to restore without running it.",
    );
  });

  it('restores a subclass held by a field typed as its base class', () => {
    const vip = new VipCustomer();
    vip.name = 'Grace';
    vip.since = new Date(0);
    vip.level = 3;
    const order = sampleOrder(vip);
    const copy = roundTrip(order);
    expect(copy.customer).toBeInstanceOf(VipCustomer);
    expect((copy.customer as VipCustomer).level).toBe(3);
  });

  it('never lets stored data choose a class that is not registered', async () => {
    await expectCheckpointError(
      () => decodeValue(rawBytes(storedInstance('Ghost', 1, { a: 1 })), { key: 'k' }),
      'Deserialize',
      'Cannot restore key "k": k: the stored class "Ghost" is not registered in this process; import the module that declares @Checkpointable({ name: "Ghost" }) before restoring.',
    );
  });

  it('refuses stored field data that would write __proto__', async () => {
    const tree = ['\u0000C', 'Order', 1, JSON.parse('{"id":"x","__proto__":{"polluted":1}}')];
    await expectCheckpointError(
      () => decodeValue(rawBytes(tree), { key: 'k' }),
      'Deserialize',
      'Cannot restore key "k": k.__proto__: the stored data contains the reserved property name \'__proto__\'.',
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('field types on restore', () => {
  it('refuses a stored instance of another registered class in a field declared as a class', async () => {
    const tree = storedInstance('Order', 1, {
      id: 'x',
      customer: storedInstance('LineItem', 1, { sku: 'a' }),
    });
    await expectCheckpointError(
      () => decodeValue(rawBytes(tree), { key: 'order' }),
      'Deserialize',
      'Key "order": The stored Order.customer holds a LineItem, but the field is declared as Customer; the data does not fit this class (was it written by other code, or does a migration need to convert it?).',
    );
  });

  it('accepts a subclass, null and a missing value', () => {
    const vip = storedInstance('VipCustomer', 1, { name: 'v', level: 2 });
    for (const customer of [vip, null, undefined]) {
      const fields = customer === undefined ? { id: 'x' } : { id: 'x', customer };
      const order = decodeValue(rawBytes(storedInstance('Order', 1, fields))) as Order;
      expect(order).toBeInstanceOf(Order);
    }
  });
});
