import { beforeEach, describe, expect, it } from 'vitest';
import type { Storage } from '../../storage/storage';
import { expectKind, type ConformanceSuite } from './conformance-suite';

/**
 * The basics: an uncommitted checkpoint reads its own writes, snapshots values, stays invisible
 * until committed, and discards completely.
 *
 * @example
 * ```ts
 * uncommittedGroup(suite); // inside storageConformance's describe block
 * ```
 */
export function uncommittedGroup(suite: ConformanceSuite): void {
  const { options, other } = suite;
  describe('uncommitted checkpoints', () => {
    let storage!: Storage;
    beforeEach(() => {
      storage = suite.storage();
    });

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
}
