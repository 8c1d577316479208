import { beforeEach, describe, expect, it } from 'vitest';
import type { Storage } from '../../storage/storage';
import { expectKind, type ConformanceSuite } from './conformance-suite';

/**
 * The guard (storages wrapped in a GuardWrapper): a checkpoint a live handle holds cannot be
 * removed. Registers nothing for an unguarded storage.
 *
 * @example
 * ```ts
 * guardGroup(suite); // inside storageConformance's describe block
 * ```
 */
export function guardGroup(suite: ConformanceSuite): void {
  if (!suite.options.capabilities.guarded) return;
  const { commitValues } = suite;
  describe('guard', () => {
    let storage!: Storage;
    beforeEach(() => {
      storage = suite.storage();
    });

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
  });
}
