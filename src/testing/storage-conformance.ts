import { Type } from 'class-transformer';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CheckpointError, type CheckpointErrorKind } from '../errors';
import type { Storage, UncommittedCheckpoint } from '../storage/storage';
import { summarizeCheckpoints } from '../storage/checkpoint-summaries';
import { FIDELITY_CASES } from './fidelity-cases';

/** What a backend under test can do; the suite skips only what a flag says is absent. */
export interface StorageCapabilities {
  /**
   * The storage is wrapped in a GuardWrapper: a second open uncommitted checkpoint with
   * the same identifier, and removing a held checkpoint, are refused.
   */
  guarded: boolean;
  /**
   * The storage keeps checkpoint labels (`setLabel` before commit; `label` on committed
   * handles and summaries). When false or left out, the suite checks summaries without
   * labels.
   */
  labels?: boolean;
}

/** How the suite gets storages to test. */
export interface ConformanceOptions {
  /** A new storage over a new, empty medium (its own folder, table, prefix). */
  create: () => Promise<Storage>;
  /**
   * A second storage object over the same medium as `storage` (the same folder, table or
   * prefix), as another process would open it. Enables persistence and cross-instance
   * tests; leave out for media that live inside one object (memory).
   */
  reopen?: (storage: Storage) => Promise<Storage>;
  /** Capabilities; see {@link StorageCapabilities}. */
  capabilities: StorageCapabilities;
}

/** Identifiers and keys outside the grammar, with why. */
export const INVALID_NAMES: readonly [string, string][] = [
  ['empty', ''],
  ['dot', '.'],
  ['dot dot', '..'],
  ['slash', 'a/b'],
  ['parent path', '../x'],
  ['backslash', 'a\\b'],
  ['NUL', 'a\u0000b'],
  ['newline', 'line\nbreak'],
  ['tab', 'a\tb'],
  ['DEL', 'a\u007fb'],
  ['C1 control', 'a\u0085b'],
  ['256 characters', 'x'.repeat(256)],
  ['lone high surrogate', 'k\uD800'],
  ['lone low surrogate', 'k\uDFFF'],
  ['reversed surrogate pair', 'a\uDE00\uD83Db'],
];

/** Identifiers inside the grammar that media may find awkward; all must round-trip. */
export const AWKWARD_VALID_NAMES: readonly string[] = [
  'x'.repeat(255),
  'é'.repeat(255),
  '😀'.repeat(127),
  'with space',
  '...',
  '.hidden',
  '%41',
  '~tilde',
  'UPPER',
  'upper',
  'a:b*c?d"e<f>g|h',
  'quote\'and"double',
  'manifest.json',
  'checkpointable.json',
  'pair \uD83D\uDE00 of surrogates',
  '__proto__',
  'constructor',
];

async function expectKind(
  promise: Promise<unknown>,
  kind: CheckpointErrorKind,
): Promise<CheckpointError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected a CheckpointError of kind ${kind}`).toBeInstanceOf(CheckpointError);
  expect((caught as CheckpointError).kind).toBe(kind);
  return caught as CheckpointError;
}

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
 * Registers the storage conformance suite: one Vitest `describe` block that checks every
 * rule of the storage contract and the value fidelity rules against the storages
 * `options.create` returns. Run it on every backend and every wrapper chain; a new
 * backend is done when it passes unchanged.
 *
 * @example
 * ```ts
 * import { storageConformance } from 'checkpointable/testing';
 * storageConformance('MyStorage', {
 *   create: () => MyStorage.open({ table: `t_${randomUUID()}` }),
 *   reopen: (s) => MyStorage.open({ table: (s as MyStorage).table }),
 *   capabilities: { guarded: true },
 * });
 * ```
 */
export function storageConformance(name: string, options: ConformanceOptions): void {
  describe(`storage conformance: ${name}`, () => {
    let storage: Storage;
    const extra: Storage[] = [];

    beforeEach(async () => {
      storage = await options.create();
    });

    afterEach(async () => {
      for (const s of extra.splice(0)) await s.close();
      await storage.close();
    });

    async function commitValues(identifier: string, values: Record<string, unknown>) {
      const draft = await storage.createCheckpoint(identifier);
      for (const [key, value] of Object.entries(values)) await draft.put(key, value);
      return storage.commitCheckpoint(draft);
    }

    async function other(): Promise<Storage> {
      const s = await options.reopen!(storage);
      extra.push(s);
      return s;
    }

    describe('uncommitted checkpoints', () => {
      it('reads its own writes, lists keys sorted, and overwrites silently', async () => {
        const draft = await storage.createCheckpoint('draft');
        expect(draft.identifier).toBe('draft');
        await draft.put('b', 1);
        await draft.put('a', 'first');
        await draft.put('a', 'second');
        await draft.put('C', null);
        expect(await draft.get('a')).toBe('second');
        expect(await draft.get('b')).toBe(1);
        expect(await draft.keys()).toEqual(['C', 'a', 'b']);
        await draft.remove('b');
        expect(await draft.keys()).toEqual(['C', 'a']);
        await draft.discard();
      });

      it('snapshots a value when it is put', async () => {
        const draft = await storage.createCheckpoint('snap');
        const value = { list: [1], nested: { n: 1 }, map: new Map([['k', 1]]) };
        await draft.put('v', value);
        value.list.push(2);
        value.nested.n = 2;
        value.map.set('k', 2);
        const bytes = Buffer.from('abc');
        await draft.putBytes('raw', bytes);
        bytes[0] = 0x7a;
        (await draft.getBytes('raw')).fill(0x7a); // what getBytes hands out is a copy
        const saved = await storage.commitCheckpoint(draft);
        value.list.push(3);
        expect(await saved.get('v')).toEqual({
          list: [1],
          nested: { n: 1 },
          map: new Map([['k', 1]]),
        });
        expect(Buffer.from(await saved.getBytes('raw')).toString()).toBe('abc');
        const copy = await saved.get<{ list: number[] }>('v');
        copy.list.push(99);
        expect(await saved.get('v')).toEqual({
          list: [1],
          nested: { n: 1 },
          map: new Map([['k', 1]]),
        });
        await saved.release();
      });

      it('reports unknown keys as KeyNotFound', async () => {
        const draft = await storage.createCheckpoint('keys');
        const error = await expectKind(draft.get('missing'), 'KeyNotFound');
        expect(error.message).toContain('"missing"');
        expect(error.message).toContain('"keys"');
        expect(error.key).toBe('missing');
        await expectKind(draft.remove('missing'), 'KeyNotFound');
        await expectKind(draft.getBytes('missing'), 'KeyNotFound');
        await draft.discard();
      });

      it('is invisible until committed', async () => {
        const draft = await storage.createCheckpoint('hidden');
        await draft.put('k', 1);
        expect(await storage.checkpointIdentifiers()).toEqual([]);
        await expectKind(storage.loadCheckpoint('hidden'), 'NotFound');
        if (options.reopen) {
          const second = await other();
          expect(await second.checkpointIdentifiers()).toEqual([]);
          await expectKind(second.loadCheckpoint('hidden'), 'NotFound');
        }
        await draft.discard();
      });

      it('is gone after discard, and the identifier can be used again', async () => {
        const draft = await storage.createCheckpoint('gone');
        await draft.put('k', 1);
        await draft.discard();
        await draft.discard(); // idempotent
        expect(await storage.checkpointIdentifiers()).toEqual([]);
        const again = await storage.createCheckpoint('gone');
        await again.put('k', 2);
        const saved = await storage.commitCheckpoint(again);
        expect(await saved.get('k')).toBe(2);
        await saved.release();
      });

      it('discards on `await using`', async () => {
        {
          await using draft = await storage.createCheckpoint('scoped');
          await draft.put('k', 1);
        }
        expect(await storage.checkpointIdentifiers()).toEqual([]);
        const again = await storage.createCheckpoint('scoped');
        await again.discard();
      });

      it('commits concurrent puts completely', async () => {
        const draft = await storage.createCheckpoint('parallel');
        const keys = Array.from({ length: 50 }, (_, i) => `key-${String(i).padStart(2, '0')}`);
        await Promise.all(keys.map((key, i) => draft.put(key, { i })));
        const saved = await storage.commitCheckpoint(draft);
        expect(await saved.keys()).toEqual(keys);
        for (const [i, key] of keys.entries()) expect(await saved.get(key)).toEqual({ i });
        await saved.release();
      });

      it('applies overlapping puts to one key in call order', async () => {
        const draft = await storage.createCheckpoint('order');
        await Promise.all([draft.put('k', 1), draft.put('k', 2), draft.put('k', 3)]);
        expect(await draft.get('k')).toBe(3);
        const saved = await storage.commitCheckpoint(draft);
        expect(await saved.get('k')).toBe(3);
        await saved.release();
      });
    });

    describe('commit', () => {
      it('makes every key readable, through the returned handle and through load', async () => {
        const before = Date.now();
        const saved = await commitValues('c1', { a: 1, b: { two: 2 }, c: [3] });
        expect(saved.identifier).toBe('c1');
        expect(saved.createdAt).toBeInstanceOf(Date);
        expect(saved.createdAt.getTime()).toBeGreaterThanOrEqual(before - 2000);
        expect(await saved.keys()).toEqual(['a', 'b', 'c']);
        await saved.release();
        const loaded = await storage.loadCheckpoint('c1');
        expect(await loaded.get('b')).toEqual({ two: 2 });
        expect(await loaded.keys()).toEqual(['a', 'b', 'c']);
        await loaded.release();
        expect(await storage.checkpointIdentifiers()).toEqual(['c1']);
      });

      it('commits an empty checkpoint', async () => {
        const saved = await commitValues('empty', {});
        expect(await saved.keys()).toEqual([]);
        await saved.release();
        const loaded = await storage.loadCheckpoint('empty');
        expect(await loaded.keys()).toEqual([]);
        await loaded.release();
      });

      it('never replaces a committed checkpoint', async () => {
        const saved = await commitValues('once', { v: 'original' });
        await saved.release();
        const error = await expectKind(storage.createCheckpoint('once'), 'AlreadyExists');
        expect(error.message).toContain('"once"');
        expect(error.identifier).toBe('once');
        const loaded = await storage.loadCheckpoint('once');
        expect(await loaded.get('v')).toBe('original');
        await loaded.release();
      });

      it('refuses at commit what it was not asked to check at create (checkExists: false)', async () => {
        const saved = await commitValues('unchecked', { v: 'original' });
        await saved.release();
        // A storage may check anyway; if it does not, the commit must refuse.
        let draft;
        try {
          draft = await storage.createCheckpoint('unchecked', { checkExists: false });
        } catch (error) {
          expect(error).toBeInstanceOf(CheckpointError);
          expect((error as CheckpointError).kind).toBe('AlreadyExists');
        }
        if (draft !== undefined) {
          await draft.put('v', 'replacement');
          await expectKind(storage.commitCheckpoint(draft), 'AlreadyExists');
          await draft.discard();
        }
        const loaded = await storage.loadCheckpoint('unchecked');
        expect(await loaded.get('v')).toBe('original');
        expect(await loaded.keys()).toEqual(['v']);
        await loaded.release();
        const fresh = await storage.createCheckpoint('unchecked-fresh', { checkExists: false });
        await fresh.put('v', 1);
        const committed = await storage.commitCheckpoint(fresh);
        expect(await committed.get('v')).toBe(1);
        await committed.release();
      });

      it('lets exactly one of two racing commits of one identifier win', async () => {
        const first = await storage.createCheckpoint('race');
        let secondStorage = storage;
        if (options.capabilities.guarded) {
          await expectKind(storage.createCheckpoint('race'), 'AlreadyExists');
          if (!options.reopen) {
            await first.discard();
            return;
          }
          secondStorage = await other();
        }
        const second: UncommittedCheckpoint = await secondStorage.createCheckpoint('race');
        await first.put('who', 'first');
        await second.put('who', 'second');
        const results = await Promise.allSettled([
          storage.commitCheckpoint(first),
          secondStorage.commitCheckpoint(second),
        ]);
        const won = results.filter((r) => r.status === 'fulfilled');
        const lost = results.filter((r) => r.status === 'rejected');
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(1);
        const reason = (lost[0] as PromiseRejectedResult).reason as CheckpointError;
        expect(reason).toBeInstanceOf(CheckpointError);
        expect(reason.kind).toBe('AlreadyExists');
        const winner = (
          won[0] as PromiseFulfilledResult<Awaited<ReturnType<Storage['commitCheckpoint']>>>
        ).value;
        const who = await winner.get('who');
        await winner.release();
        // The loser's handle is handed back, still usable, and discarding it changes nothing.
        const loser = results[0].status === 'rejected' ? first : second;
        expect(await loser.get('who')).not.toBe(who);
        await loser.discard();
        const loaded = await storage.loadCheckpoint('race');
        expect(await loaded.get('who')).toBe(who);
        await loaded.release();
      });

      it('refuses a handle made by another storage', async () => {
        const elsewhere = await options.create();
        extra.push(elsewhere);
        const draft = await elsewhere.createCheckpoint('foreign');
        await expectKind(storage.commitCheckpoint(draft), 'Other');
        await draft.discard();
      });

      if (options.reopen) {
        it('persists committed checkpoints for another storage object on the same medium', async () => {
          const saved = await commitValues('durable', { n: 42n, when: new Date(7) });
          await saved.release();
          const second = await other();
          expect(await second.checkpointIdentifiers()).toEqual(['durable']);
          const loaded = await second.loadCheckpoint('durable');
          expect(await loaded.get('n')).toBe(42n);
          expect(await loaded.get('when')).toEqual(new Date(7));
          await loaded.release();
          await expectKind(second.createCheckpoint('durable'), 'AlreadyExists');
        });

        it('keeps a loaded handle on what it loaded when another storage object removes and recommits the identifier', async () => {
          await (
            await commitValues('orders', { owner: 'alice-01', balance: 'b-000100' })
          ).release();
          const held = await storage.loadCheckpoint('orders');
          // Another storage object (another process) does not see this one's handles, so
          // its removal goes through even where a guard would refuse it.
          const second = await other();
          await second.removeCheckpoint('orders');
          const draft = await second.createCheckpoint('orders');
          // The same keys in the other order, values of the same lengths: a handle that read
          // the new data at the old positions would return it under the wrong keys.
          await draft.put('balance', 'mallory1');
          await draft.put('owner', 'b-999999');
          await (await second.commitCheckpoint(draft)).release();
          const original: Record<string, string> = { owner: 'alice-01', balance: 'b-000100' };
          for (const key of ['owner', 'balance']) {
            const outcome = await held.get(key).then(
              (value) => ({ value }),
              (error: unknown) => ({ error }),
            );
            if ('error' in outcome) expect(outcome.error).toBeInstanceOf(CheckpointError);
            else expect(outcome.value).toBe(original[key]);
          }
          await held.release();
        });
      }
    });

    describe('summaries and labels', () => {
      it('summarizes committed checkpoints as a load sees them, leaving out unknown ones', async () => {
        const draft = await storage.createCheckpoint('summed');
        await draft.put('b', 'two');
        await draft.put('a', { one: 1 });
        draft.setLabel?.('{"classes":["Order"]} ✓');
        await (await storage.commitCheckpoint(draft)).release();
        await (await commitValues('summed-empty', {})).release();
        const { summaries, damaged } = await summarizeCheckpoints(storage, [
          'summed',
          'never-committed',
          'summed-empty',
        ]);
        expect(damaged).toEqual([]);
        expect(summaries.map((s) => [s.identifier, s.keys])).toEqual([
          ['summed', ['a', 'b']],
          ['summed-empty', []],
        ]);
        const loaded = await storage.loadCheckpoint('summed');
        // The medium's time; a sealing wrapper's handle reports the sealed time, taken just
        // before the commit, so the two may differ by the commit's duration.
        const drift = summaries[0].createdAt.getTime() - loaded.createdAt.getTime();
        expect(Math.abs(drift)).toBeLessThan(60_000);
        if (options.capabilities.labels) {
          expect(loaded.label).toBe('{"classes":["Order"]} ✓');
          expect(summaries[0].label).toBe('{"classes":["Order"]} ✓');
          expect(summaries[1].label).toBeUndefined();
        }
        await loaded.release();
        const sizes = summaries[0].sizes;
        if (sizes !== undefined) {
          expect([...sizes.keys()].sort()).toEqual(['a', 'b']);
          for (const size of sizes.values()) expect(size).toBeGreaterThan(0);
        }
      });

      it('refuses a label that is not a string of at most 65,536 characters', async () => {
        const draft = await storage.createCheckpoint('long-label');
        if (draft.setLabel !== undefined) {
          expect(() => draft.setLabel!('x'.repeat(65_537))).toThrow(CheckpointError);
          expect(() => draft.setLabel!(42 as unknown as string)).toThrow(CheckpointError);
          draft.setLabel('x'.repeat(65_536));
        }
        await draft.discard();
      });
    });

    describe('handles after use', () => {
      it('fails with Released after commit', async () => {
        const draft = await storage.createCheckpoint('used');
        await draft.put('k', 1);
        const saved = await storage.commitCheckpoint(draft);
        for (const use of [
          () => draft.put('k', 2),
          () => draft.get('k'),
          () => draft.remove('k'),
          () => draft.keys(),
          () => draft.putBytes('k', new Uint8Array(1)),
          () => draft.getBytes('k'),
          () => draft.discard(),
          () => storage.commitCheckpoint(draft),
        ]) {
          const error = await expectKind(use(), 'Released');
          expect(error.message).toContain('"used"');
        }
        await saved.release();
      });

      it('fails with Released after discard', async () => {
        const draft = await storage.createCheckpoint('dropped');
        await draft.discard();
        for (const use of [
          () => draft.put('k', 2),
          () => draft.get('k'),
          () => draft.keys(),
          () => storage.commitCheckpoint(draft),
        ]) {
          await expectKind(use(), 'Released');
        }
      });

      it('fails with Released after release, which is idempotent', async () => {
        const saved = await commitValues('held', { k: 1 });
        await saved.release();
        await saved.release();
        await expectKind(saved.get('k'), 'Released');
        await expectKind(saved.keys(), 'Released');
        await expectKind(saved.getBytes('k'), 'Released');
      });

      it('releases on `await using`', async () => {
        {
          await using saved = await commitValues('scoped-held', { k: 1 });
          expect(await saved.get('k')).toBe(1);
        }
        await storage.removeCheckpoint('scoped-held');
      });

      it('fails with Released once the storage is closed', async () => {
        const closed = await options.create();
        await closed.close();
        await closed.close(); // idempotent
        await expectKind(closed.createCheckpoint('x'), 'Released');
        await expectKind(closed.checkpointIdentifiers(), 'Released');
      });
    });

    describe('remove and list', () => {
      it('removes committed checkpoints and lists the rest sorted', async () => {
        for (const id of ['b', 'a', 'C', 'a2']) await (await commitValues(id, { id })).release();
        expect(await storage.checkpointIdentifiers()).toEqual(['C', 'a', 'a2', 'b']);
        await storage.removeCheckpoint('a');
        expect(await storage.checkpointIdentifiers()).toEqual(['C', 'a2', 'b']);
        await expectKind(storage.loadCheckpoint('a'), 'NotFound');
        const error = await expectKind(storage.removeCheckpoint('a'), 'NotFound');
        expect(error.message).toContain('"a"');
        // The identifier is free again.
        await (await commitValues('a', { again: true })).release();
        const loaded = await storage.loadCheckpoint('a');
        expect(await loaded.get('again')).toBe(true);
        await loaded.release();
      });

      it('reports unknown checkpoints as NotFound', async () => {
        await expectKind(storage.loadCheckpoint('nope'), 'NotFound');
        await expectKind(storage.removeCheckpoint('nope'), 'NotFound');
      });

      if (options.capabilities.guarded) {
        it('refuses to remove a checkpoint a live handle holds, counting each handle', async () => {
          const saved = await commitValues('busy', { k: 1 });
          const error = await expectKind(storage.removeCheckpoint('busy'), 'InUse');
          expect(error.message).toContain('"busy"');
          await saved.release();
          const one = await storage.loadCheckpoint('busy');
          const two = await storage.loadCheckpoint('busy');
          await one.release();
          await expectKind(storage.removeCheckpoint('busy'), 'InUse');
          await two.release();
          await storage.removeCheckpoint('busy');
          expect(await storage.checkpointIdentifiers()).toEqual([]);
        });
      }
    });

    describe('identifier and key grammar', () => {
      for (const [why, bad] of INVALID_NAMES) {
        it(`rejects the identifier (${why}) before any I/O`, async () => {
          await (await commitValues('keep', { k: 1 })).release();
          for (const call of [
            () => storage.createCheckpoint(bad),
            () => storage.loadCheckpoint(bad),
            () => storage.removeCheckpoint(bad),
          ]) {
            const error = await expectKind(call(), 'InvalidIdentifier');
            expect(error.message).toMatch(/^Invalid checkpoint identifier /);
          }
          expect(await storage.checkpointIdentifiers()).toEqual(['keep']);
        });

        it(`rejects the key (${why}) and stores nothing`, async () => {
          const draft = await storage.createCheckpoint('keys');
          await draft.put('fine', 1);
          for (const call of [
            () => draft.put(bad, 1),
            () => draft.putBytes(bad, new Uint8Array(1)),
            () => draft.get(bad),
            () => draft.getBytes(bad),
            () => draft.remove(bad),
          ]) {
            const error = await expectKind(call(), 'InvalidIdentifier');
            expect(error.message).toMatch(/^Invalid checkpoint key .* in checkpoint "keys"/);
          }
          expect(await draft.keys()).toEqual(['fine']);
          const saved = await storage.commitCheckpoint(draft);
          await expectKind(saved.get(bad), 'InvalidIdentifier');
          await saved.release();
        });
      }

      it('rejects identifiers that are not strings', async () => {
        await expectKind(storage.createCheckpoint(42 as unknown as string), 'InvalidIdentifier');
        await expectKind(
          storage.loadCheckpoint(undefined as unknown as string),
          'InvalidIdentifier',
        );
      });

      it('round-trips awkward but valid identifiers and keys', async () => {
        for (const name of AWKWARD_VALID_NAMES) {
          const draft = await storage.createCheckpoint(name);
          await draft.put(name, name);
          await (await storage.commitCheckpoint(draft)).release();
        }
        const sorted = [...AWKWARD_VALID_NAMES].sort();
        expect(await storage.checkpointIdentifiers()).toEqual(sorted);
        for (const name of AWKWARD_VALID_NAMES) {
          const loaded = await storage.loadCheckpoint(name);
          expect(loaded.identifier).toBe(name);
          expect(await loaded.keys()).toEqual([name]);
          expect(await loaded.get(name)).toBe(name);
          await loaded.release();
        }
      });
    });

    describe('value fidelity', () => {
      it('returns every kind of value exactly, before and after commit', async () => {
        const draft = await storage.createCheckpoint('fidelity');
        const originals = FIDELITY_CASES.map((c) => c.make());
        for (const [i, c] of FIDELITY_CASES.entries()) await draft.put(c.name, originals[i]);
        for (const [i, c] of FIDELITY_CASES.entries())
          c.check(await draft.get(c.name), originals[i]);
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
  });
}
