import { beforeEach, describe, expect, it } from 'vitest';
import { CheckpointError } from '../../errors';
import type { Storage, UncommittedCheckpoint } from '../../storage/storage';
import { expectKind, type ConformanceSuite } from './conformance-suite';

/**
 * Commit: every key becomes readable at once, a committed checkpoint is never replaced, and of
 * two racing commits of one identifier exactly one wins.
 *
 * @example
 * ```ts
 * commitGroup(suite); // inside storageConformance's describe block
 * ```
 */
export function commitGroup(suite: ConformanceSuite): void {
  const { options, extra, other, commitValues } = suite;
  describe('commit', () => {
    let storage!: Storage;
    beforeEach(() => {
      storage = suite.storage();
    });

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
  });
}
