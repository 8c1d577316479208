import { beforeEach, describe, expect, it } from 'vitest';
import type { Storage } from '../../storage/storage';
import { expectKind, type ConformanceSuite } from './conformance-suite';

/**
 * Remove and list: removed checkpoints leave the sorted list; unknown ones are `NotFound`.
 *
 * @example
 * ```ts
 * removeAndListGroup(suite); // inside storageConformance's describe block
 * ```
 */
export function removeAndListGroup(suite: ConformanceSuite): void {
  const { commitValues } = suite;
  describe('remove and list', () => {
    let storage!: Storage;
    beforeEach(() => {
      storage = suite.storage();
    });

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
  });
}
