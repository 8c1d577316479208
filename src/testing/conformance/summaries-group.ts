import { beforeEach, describe, expect, it } from 'vitest';
import { CheckpointError } from '../../errors';
import type { Storage } from '../../storage/storage';
import { type ConformanceSuite } from './conformance-suite';
import { summarizeCheckpoints } from '../../storage/checkpoint-summaries';

/**
 * Summaries and labels: `checkpointSummaries()` describes checkpoints as a load sees them, with
 * labels where the storage keeps them.
 *
 * @example
 * ```ts
 * summariesGroup(suite); // inside storageConformance's describe block
 * ```
 */
export function summariesGroup(suite: ConformanceSuite): void {
  const { options, commitValues } = suite;
  describe('summaries and labels', () => {
    let storage!: Storage;
    beforeEach(() => {
      storage = suite.storage();
    });

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
}
