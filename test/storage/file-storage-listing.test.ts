import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CheckpointError, FileStorage } from 'checkpointable';
import { fileName } from '../../src/storage/file-names';

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
  if (label !== undefined) {
    if (draft.setLabel === undefined) throw new Error('FileStorage handles take labels');
    draft.setLabel(label);
  }
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

/** Writes a pack by hand into `committed/`: `header` is the header JSON as given, values back to back. */
function writePack(dir: string, identifier: string, header: unknown, values: Buffer[] = []): void {
  const text = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(9);
  prefix.write('CPFS', 0, 'latin1');
  prefix[4] = 1;
  prefix.writeUInt32LE(text.length, 5);
  writeFileSync(
    join(dir, 'committed', fileName(identifier)),
    Buffer.concat([prefix, text, ...values]),
    {
      mode: 0o600,
    },
  );
}

describe('FileStorage labels', () => {
  it('keeps the label in the pack header, across a reopen', async () => {
    const dir = fresh();
    const storage = await openRaw(dir);
    await commit(storage, 'labelled', { v: 1 }, '{"classes":["Order"]} ✓');
    await commit(storage, 'plain', { v: 1 });
    const again = await openRaw(dir);
    const labelled = await again.loadCheckpoint('labelled');
    expect(labelled.label).toBe('{"classes":["Order"]} ✓');
    await labelled.release();
    const plain = await again.loadCheckpoint('plain');
    expect(plain.label).toBeUndefined();
    await plain.release();
  });

  it('reads a pack written without a label field (older packs)', async () => {
    const dir = fresh();
    const storage = await openRaw(dir);
    writePack(dir, 'old', { identifier: 'old', createdAt: new Date(0).toISOString(), keys: [] });
    const loaded = await storage.loadCheckpoint('old');
    expect(loaded.label).toBeUndefined();
    expect(loaded.createdAt.getTime()).toBe(0);
    await loaded.release();
  });

  for (const [what, label, problem] of [
    ['a number', 42, 'its label is number, not a string'],
    ['null', null, 'its label is null, not a string'],
    ['an object', { a: 1 }, 'its label is object, not a string'],
    [
      'a string of 65,537 characters',
      'x'.repeat(65_537),
      'its label is 65537 characters long, more than the 65536 a label holds',
    ],
  ] as const) {
    it(`refuses a pack header whose label is ${what} with Deserialize`, async () => {
      const dir = fresh();
      const storage = await openRaw(dir);
      const createdAt = new Date(0).toISOString();
      writePack(dir, 'hostile', { identifier: 'hostile', createdAt, keys: [], label });
      const error = await storage.loadCheckpoint('hostile').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CheckpointError);
      expect((error as CheckpointError).kind).toBe('Deserialize');
      expect((error as CheckpointError).message).toBe(
        `The checkpoint file ${join(dir, 'committed', 'hostile')} is damaged: ${problem}. Restore it from a backup or remove the checkpoint.`,
      );
    });
  }

  it('accepts a label of exactly 65,536 characters', async () => {
    const dir = fresh();
    const storage = await openRaw(dir);
    await commit(storage, 'longest', {}, 'y'.repeat(65_536));
    const loaded = await (await openRaw(dir)).loadCheckpoint('longest');
    expect(loaded.label).toHaveLength(65_536);
    await loaded.release();
  });

  it('refuses a pack header whose creation time is not a date', async () => {
    const dir = fresh();
    const storage = await openRaw(dir);
    writePack(dir, 'when', { identifier: 'when', createdAt: 'yesterday', keys: [] });
    const error = await storage.loadCheckpoint('when').catch((e: unknown) => e);
    expect((error as CheckpointError).kind).toBe('Deserialize');
    expect((error as CheckpointError).message).toContain(
      'its header\'s creation time "yesterday" is not a date',
    );
  });
});
