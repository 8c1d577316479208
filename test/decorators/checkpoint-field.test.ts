import { describe, expect, it } from 'vitest';
import { Checkpointable, CheckpointField, decodeValue, encodeValue } from 'checkpointable';
import { expectCheckpointError } from '../fixtures/manager/expect-error';

interface Address {
  street: string;
}

const UNKNOWN = (where: string) =>
  `@CheckpointField() on ${where}: the type of this field cannot be known at run time (it is an interface, a union, any, or has no type annotation); say it with @CheckpointField({ type: () => X }), or { type: () => Object } for plain data of any shape.`;

describe('@CheckpointField fails early, at decoration, with the fix', () => {
  it('refuses an interface-typed field', async () => {
    await expectCheckpointError(
      () => {
        class Shop {
          @CheckpointField() address!: Address;
        }
        return Shop;
      },
      'Metadata',
      UNKNOWN('Shop.address'),
    );
  });

  it('refuses a union-typed field', async () => {
    await expectCheckpointError(
      () => {
        class Reading {
          @CheckpointField() value!: string | number;
        }
        return Reading;
      },
      'Metadata',
      UNKNOWN('Reading.value'),
    );
  });

  it('refuses a field declared as Object', async () => {
    await expectCheckpointError(
      () => {
        class Bag {
          // eslint-disable-next-line @typescript-eslint/no-wrapper-object-types
          @CheckpointField() content!: Object;
        }
        return Bag;
      },
      'Metadata',
      UNKNOWN('Bag.content'),
    );
  });

  it('refuses a field without a type annotation (no design:type emitted)', async () => {
    await expectCheckpointError(
      () => {
        class Counter {
          @CheckpointField() count = 0;
        }
        return Counter;
      },
      'Metadata',
      '@CheckpointField() on Counter.count: TypeScript emitted no type for this field; annotate its type (count: T = ..., not count = ...), keep "emitDecoratorMetadata" on with tsc or SWC (esbuild drops it), or say it with @CheckpointField({ type: () => X }).',
    );
  });

  it('refuses a field holding a function', async () => {
    await expectCheckpointError(
      () => {
        class Job {
          @CheckpointField() run!: () => void;
        }
        return Job;
      },
      'Metadata',
      '@CheckpointField() on Job.run: the field holds a function, which cannot be saved; save the data it is built from instead.',
    );
  });

  it('accepts the type option for an interface, and Object for plain data', () => {
    @Checkpointable({ name: 'Shop' })
    class Shop {
      @CheckpointField({ type: () => Object }) address!: Address;
      @CheckpointField({ type: () => Object }) value!: string | number;
    }
    const shop = new Shop();
    shop.address = { street: 'Main St' };
    shop.value = 7;
    const copy = decodeValue(encodeValue(shop)) as Shop;
    expect(copy).toBeInstanceOf(Shop);
    expect({ ...copy }).toEqual({ address: { street: 'Main St' }, value: 7 });
  });

  it('refuses reserved names, static properties, accessors and symbols', async () => {
    class Target {
      static count: number;
      get size(): number {
        return 1;
      }
    }
    for (const name of ['__proto__', 'constructor', 'prototype']) {
      await expectCheckpointError(
        () => CheckpointField({ type: () => String })(Target.prototype, name),
        'Metadata',
        `@CheckpointField() on Target.${name}: the name '${name}' is reserved (restoring it could change an object's prototype); rename the property.`,
      );
    }
    await expectCheckpointError(
      () => CheckpointField()(Target, 'count'),
      'Metadata',
      'Target.count is static; @CheckpointField() goes on instance properties.',
    );
    const accessor = Object.getOwnPropertyDescriptor(Target.prototype, 'size');
    await expectCheckpointError(
      () =>
        (CheckpointField() as (t: object, k: string, d: unknown) => void)(
          Target.prototype,
          'size',
          accessor,
        ),
      'Metadata',
      '@CheckpointField() on Target.size: it is a method or accessor; put it on the data property the accessor reads.',
    );
    await expectCheckpointError(
      () => CheckpointField()(Target.prototype, Symbol('s')),
      'Metadata',
      '@CheckpointField() on Target.Symbol(s): symbol-named properties cannot be saved; use a string name.',
    );
  });

  it('reports a type thunk that returns nothing (a circular import) when the class is first used', async () => {
    // Stands for an import that a circular dependency has not filled in yet.
    const imported: { Later?: Function } = {};
    @Checkpointable({ name: 'Early' })
    class Early {
      @CheckpointField({ type: () => imported.Later }) other?: unknown;
    }
    await expectCheckpointError(
      () => encodeValue(new Early()),
      'Metadata',
      '@CheckpointField({ type }) on Early.other: the type function returned undefined, not a class; this usually means a circular import: keep { type: () => X } as a function and import X where it is defined.',
    );
  });
});
