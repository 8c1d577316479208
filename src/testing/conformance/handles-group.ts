import { beforeEach, describe, expect, it } from 'vitest';
import type { Storage } from '../../storage/storage';
import { expectKind, type ConformanceSuite } from './conformance-suite';

/**
 * Handles after use: every handle fails with `Released` once committed, discarded, released or
 * its storage closed.
 *
 * @example
 * ```ts
 * handlesGroup(suite); // inside storageConformance's describe block
 * ```
 */
export function handlesGroup(suite: ConformanceSuite): void {
  const { options, commitValues } = suite;
  describe('handles after use', () => {
    let storage!: Storage;
    beforeEach(() => {
      storage = suite.storage();
    });

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
}
