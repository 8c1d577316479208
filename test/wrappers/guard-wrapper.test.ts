import {
  CheckpointError,
  ChecksumWrapper,
  GuardWrapper,
  MemoryStorage,
  type Storage,
} from 'checkpointable';
import { describe, expect, it } from 'vitest';
import { caught } from './test-keys';

async function kind(promise: Promise<unknown>): Promise<string | undefined> {
  const error = await caught(promise);
  return error instanceof CheckpointError ? error.kind : undefined;
}

// Guard directly over the medium, and guard innermost under a byte-changing wrapper: the
// guard must count the handles the outer wrapper hands out either way.
const setups: [string, () => { storage: Storage; guard: GuardWrapper }][] = [
  [
    'outermost',
    () => {
      const guard = GuardWrapper.wrap(ChecksumWrapper.wrap(new MemoryStorage()));
      return { storage: guard, guard };
    },
  ],
  [
    'under a ChecksumWrapper',
    () => {
      const guard = GuardWrapper.wrap(new MemoryStorage());
      return { storage: ChecksumWrapper.wrap(guard), guard };
    },
  ],
];

for (const [where, setup] of setups) {
  describe(`GuardWrapper (${where})`, () => {
    it('refuses a second open checkpoint with the same identifier, until the first is closed', async () => {
      const { storage } = setup();
      const first = await storage.createCheckpoint('dup');
      const error = (await caught(storage.createCheckpoint('dup'))) as CheckpointError;
      expect(error.kind).toBe('AlreadyExists');
      expect(error.message).toBe(
        'Checkpoint "dup" is already open for writing through this storage; commit or discard that handle first, or choose another identifier.',
      );
      await first.discard();
      const second = await storage.createCheckpoint('dup');
      await second.put('k', 1);
      await (await storage.commitCheckpoint(second)).release();
      expect(await kind(storage.createCheckpoint('dup'))).toBe('AlreadyExists');
    });

    it('refuses to remove a checkpoint in use, and needs one release per load', async () => {
      const { storage, guard } = setup();
      const committed = await storage.commitCheckpoint(await storage.createCheckpoint('held'));
      expect(guard.holders('held')).toBe(1);
      const error = (await caught(storage.removeCheckpoint('held'))) as CheckpointError;
      expect(error.kind).toBe('InUse');
      expect(error.message).toBe(
        'Checkpoint "held" is held by 1 live handle; release() them (or use `await using`) before removing it.',
      );
      await committed.release();
      const one = await storage.loadCheckpoint('held');
      const two = await storage.loadCheckpoint('held');
      expect(guard.holders('held')).toBe(2);
      expect(((await caught(storage.removeCheckpoint('held'))) as Error).message).toContain(
        'held by 2 live handles',
      );
      await one.release();
      await one.release(); // a second release of one handle gives nothing more back
      expect(await kind(storage.removeCheckpoint('held'))).toBe('InUse');
      await two.release();
      await storage.removeCheckpoint('held');
      expect(await storage.checkpointIdentifiers()).toEqual([]);
    });

    it('gives handles back on `await using`', async () => {
      const { storage, guard } = setup();
      {
        await using draft = await storage.createCheckpoint('scoped');
        await draft.put('k', 1);
        expect(await kind(storage.createCheckpoint('scoped'))).toBe('AlreadyExists');
      }
      {
        await using draft = await storage.createCheckpoint('scoped');
        await draft.put('k', 2);
        await using saved = await storage.commitCheckpoint(draft);
        await using loaded = await storage.loadCheckpoint('scoped');
        expect(await loaded.get('k')).toBe(2);
        expect(await saved.get('k')).toBe(2);
        expect(guard.holders('scoped')).toBe(2);
      }
      expect(guard.holders('scoped')).toBe(0);
      await storage.removeCheckpoint('scoped');
    });
  });
}
