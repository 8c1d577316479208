import { beforeEach, describe, expect, it } from 'vitest';
import type { Storage } from '../../storage/storage';
import { expectKind, type ConformanceSuite } from './conformance-suite';
import { AWKWARD_VALID_NAMES, INVALID_NAMES } from './conformance-names';

/**
 * The name grammar: identifiers and keys outside it are refused before any I/O; awkward valid
 * ones round-trip.
 *
 * @example
 * ```ts
 * grammarGroup(suite); // inside storageConformance's describe block
 * ```
 */
export function grammarGroup(suite: ConformanceSuite): void {
  const { commitValues } = suite;
  describe('identifier and key grammar', () => {
    let storage!: Storage;
    beforeEach(() => {
      storage = suite.storage();
    });

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
      await expectKind(storage.loadCheckpoint(undefined as unknown as string), 'InvalidIdentifier');
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
}
