import 'reflect-metadata';
import {
  Exclude,
  Expose,
  instanceToPlain,
  plainToInstance,
  Transform,
  Type,
} from 'class-transformer';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  Checkpointable,
  CheckpointError,
  CheckpointField,
  CheckpointManager,
  MemoryStorage,
} from 'checkpointable';

@Checkpointable({ name: 'Ct.Address' })
class Address {
  @CheckpointField() street!: string;
  @CheckpointField() zip!: number;
}

@Checkpointable({ name: 'Ct.Line' })
class Line {
  @CheckpointField() sku!: string;
  @CheckpointField() quantity!: number;
  @CheckpointField() shipped!: boolean;
}

/** No class-transformer decorator written by hand: @CheckpointField registers the @Type. */
@Checkpointable({ name: 'Ct.Invoice' })
class Invoice {
  @CheckpointField() id!: string;
  @CheckpointField() issuedAt!: Date;
  @CheckpointField() billing!: Address;
  @CheckpointField({ type: () => Line }) lines!: Line[];
  @CheckpointField({ type: () => String }) notes!: string[];
}

/** Fields that also carry class-transformer decorators, which both paths honour. */
@Checkpointable({ name: 'Ct.Account' })
class Account {
  @CheckpointField()
  @Transform(({ value }) => (value as string).toUpperCase(), { toClassOnly: true })
  code!: string;

  @CheckpointField()
  @Transform(({ value }) => Math.round((value as number) * 100) / 100, { toPlainOnly: true })
  balance!: number;

  @CheckpointField() @Exclude() secret?: string;

  @CheckpointField() @Expose({ name: 'display_name' }) displayName!: string;

  @CheckpointField() @Type(() => Date) openedAt!: Date;
}

const manager = new CheckpointManager(MemoryStorage.create());
afterAll(() => manager.close());
let n = 0;

/** The manager's round trip. */
async function viaManager<T extends object>(value: T, type: new () => T): Promise<T> {
  const id = `ct-${n++}`;
  await manager.save(id, { value });
  return manager.restore(id, 'value', type);
}

/** class-transformer's round trip, through JSON text as a user would store it. */
function viaClassTransformer<T extends object>(value: T, type: new () => T): T {
  return plainToInstance(type, JSON.parse(JSON.stringify(instanceToPlain(value))) as object);
}

const address = fc.record({ street: fc.string(), zip: fc.integer() });
const line = fc.record({ sku: fc.string(), quantity: fc.integer(), shipped: fc.boolean() });
const date = fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true });
const invoice = fc.record({
  id: fc.string(),
  issuedAt: date,
  billing: address,
  lines: fc.array(line, { maxLength: 5 }),
  notes: fc.array(fc.string(), { maxLength: 3 }),
});

type InvoiceData = typeof invoice extends fc.Arbitrary<infer T> ? T : never;

function toInvoice(data: InvoiceData): Invoice {
  return Object.assign(new Invoice(), {
    ...data,
    billing: Object.assign(new Address(), data.billing),
    lines: data.lines.map((l) => Object.assign(new Line(), l)),
  });
}

describe('class-transformer interoperability', () => {
  it('lets plainToInstance rebuild nested classes and Dates of @CheckpointField classes', () => {
    const restored = plainToInstance(Invoice, {
      id: 'i1',
      issuedAt: '2026-03-04T05:06:07.000Z',
      billing: { street: 'Main', zip: 1000 },
      lines: [{ sku: 'a', quantity: 2, shipped: false }],
      notes: ['n'],
    });
    expect(restored).toBeInstanceOf(Invoice);
    expect(restored.issuedAt).toEqual(new Date('2026-03-04T05:06:07.000Z'));
    expect(restored.billing).toBeInstanceOf(Address);
    expect(restored.lines[0]).toBeInstanceOf(Line);
  });

  it('agrees with instanceToPlain + plainToInstance on random invoices (differential)', async () => {
    await fc.assert(
      fc.asyncProperty(invoice, async (data) => {
        const value = toInvoice(data);
        const ours = await viaManager(value, Invoice);
        const theirs = viaClassTransformer(value, Invoice);
        expect(ours).toStrictEqual(theirs);
        expect(ours).toStrictEqual(value);
      }),
      { numRuns: 60 },
    );
  });

  it('honours @Transform, @Exclude, @Expose and @Type on @CheckpointField fields, as class-transformer does', async () => {
    const account = Object.assign(new Account(), {
      code: 'ab-1',
      balance: 10.456,
      secret: 'hunter2',
      displayName: 'Ada',
      openedAt: new Date('2025-01-01T00:00:00.000Z'),
    });
    const ours = await viaManager(account, Account);
    const theirs = viaClassTransformer(account, Account);
    expect(ours).toStrictEqual(theirs);
    expect(ours).toStrictEqual(
      Object.assign(new Account(), {
        code: 'AB-1',
        balance: 10.46,
        displayName: 'Ada',
        openedAt: new Date('2025-01-01T00:00:00.000Z'),
      }),
    );
    // @Expose renames the property only in class-transformer's plain form.
    expect(instanceToPlain(account)).toHaveProperty('display_name', 'Ada');
  });
});

/** Transforms that throw on the value 'bad', one for each direction. */
@Checkpointable({ name: 'Ct.Fragile' })
class Fragile {
  @CheckpointField()
  @Transform(
    ({ value }) => {
      if (value === 'bad') throw new TypeError('cannot read bad');
      return value as string;
    },
    { toClassOnly: true },
  )
  onRestore!: string;

  @CheckpointField()
  @Transform(
    ({ value }) => {
      if (value === 'bad') throw new TypeError('cannot write bad');
      return value as string;
    },
    { toPlainOnly: true },
  )
  onSave!: string;
}

describe('class-transformer transforms that throw', () => {
  // Regression: the transform's own error escaped untyped.
  it('are Serialize when saving and Deserialize when restoring, with the path and the cause', async () => {
    const saving = await manager
      .save('ct-fragile-save', {
        v: Object.assign(new Fragile(), { onRestore: 'ok', onSave: 'bad' }),
      })
      .catch((e: unknown) => e);
    expect(saving).toBeInstanceOf(CheckpointError);
    expect((saving as CheckpointError).kind).toBe('Serialize');
    expect((saving as Error).message).toBe(
      'Cannot save v (key "v" of checkpoint "ct-fragile-save"): reading it threw TypeError (cannot write bad); make the value readable (a getter or Proxy must not throw while it is saved), or save a plain copy.',
    );
    expect((saving as Error).cause).toBeInstanceOf(TypeError);

    await manager.save('ct-fragile', {
      v: Object.assign(new Fragile(), { onRestore: 'bad', onSave: 'ok' }),
    });
    const restoring = await manager.restore('ct-fragile', 'v', Fragile).catch((e: unknown) => e);
    expect(restoring).toBeInstanceOf(CheckpointError);
    expect((restoring as CheckpointError).kind).toBe('Deserialize');
    expect((restoring as Error).message).toBe(
      'Cannot restore key "v" of checkpoint "ct-fragile": v: restoring it threw TypeError (cannot read bad); the application\'s restore code (a class-transformer @Transform) failed on the stored data: fix that code, or restore with the code that wrote it.',
    );
    expect((restoring as Error).cause).toBeInstanceOf(TypeError);
  });
});
