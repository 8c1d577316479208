import { beforeEach, describe, expect, it } from 'vitest';
import type { Storage } from '../../storage/storage';
import { expectKind, type ConformanceSuite } from './conformance-suite';
import { Type } from 'class-transformer';
import { FIDELITY_CASES } from '../fidelity-cases';

class Money {
  amount = 0;
  currency = 'EUR';
}

class Invoice {
  number = '';
  @Type(() => Money)
  total!: Money;
  @Type(() => Date)
  issuedAt!: Date;

  label(): string {
    return `${this.number}: ${this.total.amount} ${this.total.currency}`;
  }
}

class NotRegistered {
  constructor(readonly value: number) {}
}

/**
 * Value fidelity: every kind of value comes back exactly, large binary values stay unchanged,
 * unsupported ones are refused with `Serialize`, and the type asked for is checked.
 *
 * @example
 * ```ts
 * valuesGroup(suite); // inside storageConformance's describe block
 * ```
 */
export function valuesGroup(suite: ConformanceSuite): void {
  const { commitValues } = suite;
  describe('value fidelity', () => {
    let storage!: Storage;
    beforeEach(() => {
      storage = suite.storage();
    });

    it('returns every kind of value exactly, before and after commit', async () => {
      const draft = await storage.createCheckpoint('fidelity');
      const originals = FIDELITY_CASES.map((c) => c.make());
      for (const [i, c] of FIDELITY_CASES.entries()) await draft.put(c.name, originals[i]);
      for (const [i, c] of FIDELITY_CASES.entries()) c.check(await draft.get(c.name), originals[i]);
      const saved = await storage.commitCheckpoint(draft);
      await saved.release();
      const loaded = await storage.loadCheckpoint('fidelity');
      for (const [i, c] of FIDELITY_CASES.entries())
        c.check(await loaded.get(c.name), originals[i]);
      await loaded.release();
    });

    it('round-trips raw bytes and a 4 MiB value', async () => {
      const big = Buffer.alloc(4 * 1024 * 1024);
      for (let i = 0; i < big.length; i += 4096) big[i] = i % 251;
      const saved = await commitValues('big', { big, text: 'x'.repeat(100_000) });
      expect(Buffer.from((await saved.get('big')) as Buffer).equals(big)).toBe(true);
      expect(await saved.get('text')).toBe('x'.repeat(100_000));
      await saved.release();
      const draft = await storage.createCheckpoint('raw');
      await draft.putBytes('r', new Uint8Array([9, 8, 7]));
      await draft.putBytes('empty', new Uint8Array(0));
      const raw = await storage.commitCheckpoint(draft);
      expect([...(await raw.getBytes('r'))]).toEqual([9, 8, 7]);
      expect((await raw.getBytes('empty')).length).toBe(0);
      await raw.release();
    });

    it('hands out large binary values that changing never changes what is stored', async () => {
      const big = Buffer.alloc(256 * 1024, 7);
      const saved = await commitValues('big-bytes', { big, plainBytes: new Uint8Array(big) });
      for (const key of ['big', 'plainBytes']) {
        const first = await saved.get<Uint8Array>(key);
        first.fill(0);
        const second = await saved.get<Uint8Array>(key);
        expect(second.every((b) => b === 7)).toBe(true);
      }
      await saved.release();
      const loaded = await storage.loadCheckpoint('big-bytes');
      expect((await loaded.get<Buffer>('big')).equals(big)).toBe(true);
      // Raw bytes are handed out as copies too.
      (await loaded.getBytes('big')).fill(0);
      expect((await loaded.get<Buffer>('big')).equals(big)).toBe(true);
      await loaded.release();
    });

    const unsupported: [string, unknown, string][] = [
      ['a function', { items: [{}, {}, {}, { callback: () => 1 }] }, 'order.items[3].callback'],
      ['a symbol', { tag: Symbol('x') }, 'order.tag'],
      ['a WeakMap', { cache: new WeakMap() }, 'order.cache'],
      ['a Promise', { later: Promise.resolve(1) }, 'order.later'],
      ['an unregistered class', { lines: [new NotRegistered(1)] }, 'order.lines[0]'],
      ['a value inside a Map', new Map([['k', () => 0]]), 'order.<map entry 0>'],
      [
        'the reserved key __proto__',
        JSON.parse('{"__proto__": {"polluted": true}}'),
        'order.__proto__',
      ],
    ];
    for (const [what, value, path] of unsupported) {
      it(`refuses ${what} with Serialize naming ${path}, storing nothing`, async () => {
        const draft = await storage.createCheckpoint('bad-values');
        await draft.put('order', 'previous');
        const error = await expectKind(draft.put('order', value), 'Serialize');
        expect(error.message).toContain(path);
        expect(error.message).toContain('"bad-values"');
        expect(error.key).toBe('order');
        expect(await draft.get('order')).toBe('previous');
        await draft.discard();
      });
    }

    it('restores classes that carry class-transformer decorators through class-transformer', async () => {
      const invoice = Object.assign(new Invoice(), {
        number: 'INV-1',
        total: Object.assign(new Money(), { amount: 12.5 }),
        issuedAt: new Date(Date.UTC(2025, 0, 1)),
      });
      const saved = await commitValues('invoices', { invoice });
      const plain = await saved.get<Record<string, unknown>>('invoice');
      expect(Object.getPrototypeOf(plain)).toBe(Object.prototype);
      const restored = await saved.get('invoice', Invoice);
      expect(restored).toBeInstanceOf(Invoice);
      expect(restored.total).toBeInstanceOf(Money);
      expect(restored.issuedAt).toEqual(new Date(Date.UTC(2025, 0, 1)));
      expect(restored.label()).toBe('INV-1: 12.5 EUR');
      await saved.release();
    });

    it('checks the type asked for against what is stored', async () => {
      const saved = await commitValues('typed', { when: new Date(1), n: 1, text: 'x' });
      expect(await saved.get('when', Date)).toEqual(new Date(1));
      expect(await saved.get('n', Number)).toBe(1);
      const error = await expectKind(saved.get('text', Map), 'Deserialize');
      expect(error.message).toContain('"text"');
      expect(error.message).toContain('Map');
      await expectKind(saved.get('n', String), 'Deserialize');
      await saved.release();
    });
  });
}
