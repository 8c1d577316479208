import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CheckpointError, FileStorage } from 'checkpointable';

const fresh = () => mkdtempSync(join(tmpdir(), 'cp-file-listing-'));

const opened: FileStorage[] = [];
async function openRaw(dir: string): Promise<FileStorage> {
  const storage = await FileStorage.openRaw(dir);
  opened.push(storage);
  return storage;
}
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});

async function commit(
  storage: FileStorage,
  identifier: string,
  values: Record<string, unknown>,
  label?: string,
): Promise<void> {
  const draft = await storage.createCheckpoint(identifier);
  for (const [key, value] of Object.entries(values)) await draft.put(key, value);
  if (label !== undefined) draft.setLabel(label);
  await (await storage.commitCheckpoint(draft)).release();
}

describe('FileStorage createCheckpoint({ checkExists: false })', () => {
  it('skips the early check and leaves the refusal to the commit', async () => {
    const storage = await openRaw(fresh());
    await commit(storage, 'taken', { v: 'original' });
    // No AlreadyExists at create: the check was skipped ...
    const draft = await storage.createCheckpoint('taken', { checkExists: false });
    await draft.put('v', 'replacement');
    // ... and the commit refuses the existing name atomically.
    const error = await storage.commitCheckpoint(draft).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as CheckpointError).kind).toBe('AlreadyExists');
    await draft.discard();
    const loaded = await storage.loadCheckpoint('taken');
    expect(await loaded.get('v')).toBe('original');
    await loaded.release();
  });
});
