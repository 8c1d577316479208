import { beforeEach, describe, expect, it } from 'vitest';
import { CheckpointError } from '../../errors';
import type { Storage } from '../../storage/storage';
import { expectKind, type ConformanceSuite } from './conformance-suite';

/**
 * Two storage objects over one medium, as two processes would open it: what one commits the
 * other loads, and a loaded handle keeps what it loaded. Registers nothing without `reopen`.
 *
 * @example
 * ```ts
 * twoStoragesGroup(suite); // inside storageConformance's describe block
 * ```
 */
export function twoStoragesGroup(suite: ConformanceSuite): void {
  if (!suite.options.reopen) return;
  const { other, commitValues } = suite;
  describe('two storage objects on one medium', () => {
    let storage!: Storage;
    beforeEach(() => {
      storage = suite.storage();
    });

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
      await (await commitValues('orders', { owner: 'alice-01', balance: 'b-000100' })).release();
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
  });
}
