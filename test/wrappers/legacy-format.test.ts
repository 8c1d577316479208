import {
  buildWrapperChain,
  CheckpointError,
  ChecksumWrapper,
  EncryptionWrapper,
  FileStorage,
  GuardWrapper,
  HmacWrapper,
  MemoryStorage,
  type Storage,
} from 'checkpointable';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RECOMMENDED_CHAIN } from './chains';
import { LegacyEncryptionWriter, LegacyHmacWriter } from './legacy-envelopes';
import { caught, KEY_A, KEY_B } from './test-keys';

const root = mkdtempSync(join(tmpdir(), 'cp-legacy-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;

const MEDIA: [string, () => Promise<Storage>][] = [
  ['MemoryStorage', async () => new MemoryStorage()],
  [
    'FileStorage.openRaw()',
    () => FileStorage.openRaw(join(root, `l${dirs++}`), { durability: 'atomic' }),
  ],
];

/** How old code wrote, how new code reads, and which wrapper checks first on load. */
const SETUPS: [string, (medium: Storage) => Storage, (medium: Storage) => Storage, string][] = [
  [
    'HmacWrapper',
    (medium) => new LegacyHmacWriter(medium, KEY_A),
    (medium) => HmacWrapper.wrap(medium, KEY_A),
    'HmacWrapper',
  ],
  [
    'EncryptionWrapper',
    (medium) => new LegacyEncryptionWriter(medium, KEY_B),
    (medium) => EncryptionWrapper.wrap(medium, KEY_B),
    'EncryptionWrapper',
  ],
  [
    'recommended chain',
    (medium) =>
      GuardWrapper.wrap(
        new LegacyEncryptionWriter(
          new LegacyHmacWriter(ChecksumWrapper.wrap(medium), KEY_A),
          KEY_B,
        ),
      ),
    (medium) => buildWrapperChain(medium, RECOMMENDED_CHAIN),
    'HmacWrapper',
  ],
];

async function commit(storage: Storage, identifier: string, values: Record<string, unknown>) {
  const draft = await storage.createCheckpoint(identifier);
  for (const [key, value] of Object.entries(values)) await draft.put(key, value);
  const saved = await storage.commitCheckpoint(draft);
  await saved.release();
}

async function snapshot(medium: Storage, identifier: string): Promise<Map<string, Uint8Array>> {
  const loaded = await medium.loadCheckpoint(identifier);
  const out = new Map<string, Uint8Array>();
  for (const key of await loaded.keys()) out.set(key, await loaded.getBytes(key));
  await loaded.release();
  return out;
}

async function rebuild(medium: Storage, identifier: string, entries: Map<string, Uint8Array>) {
  await medium.removeCheckpoint(identifier);
  const draft = await medium.createCheckpoint(identifier);
  for (const [key, bytes] of entries) await draft.putBytes(key, bytes);
  await (await medium.commitCheckpoint(draft)).release();
}

for (const [mediumName, createMedium] of MEDIA) {
  for (const [name, legacy, current, firstChecker] of SETUPS) {
    describe(`format 1 data of ${name} over ${mediumName}`, () => {
      it('still reads: values, keys, and the createdAt the medium recorded', async () => {
        const medium = await createMedium();
        await commit(legacy(medium), 'acct', { balance: 100, limit: 5 });
        const raw = await medium.loadCheckpoint('acct');
        const recorded = raw.createdAt.getTime();
        await raw.release();
        const storage = current(medium);
        const loaded = await storage.loadCheckpoint('acct');
        expect(await loaded.keys()).toEqual(['balance', 'limit']);
        expect(await loaded.get('balance')).toBe(100);
        expect(await loaded.get('limit')).toBe(5);
        expect(loaded.createdAt.getTime()).toBe(recorded);
        await loaded.release();
        await storage.close();
      });

      it('refuses it on load when a value of a sealed commit was spliced in', async () => {
        const medium = await createMedium();
        const storage = current(medium);
        await commit(legacy(medium), 'acct', { balance: 100, limit: 5 });
        const old = await snapshot(medium, 'acct');
        await medium.removeCheckpoint('acct');
        await commit(storage, 'acct', { balance: 50, limit: 5 });
        const sealed = await snapshot(medium, 'acct');
        old.set('balance', sealed.get('balance')!);
        await rebuild(medium, 'acct', old);
        const error = (await caught(storage.loadCheckpoint('acct'))) as CheckpointError;
        expect(error).toBeInstanceOf(CheckpointError);
        expect(error.kind).toBe('Integrity');
        const seal = `@checkpointable.seal.${firstChecker === 'HmacWrapper' ? 'hmac' : 'encryption'}`;
        expect(error.message).toBe(
          `Checkpoint "acct" failed the ${firstChecker} seal check: its value "balance" belongs to a sealed commit (envelope format 2), but the checkpoint has no seal "${seal}". Values were removed, added or replaced after the commit (for example from an older commit of the same identifier); restore the checkpoint from a backup. Nothing that fails this check is returned, because it cannot be trusted.`,
        );
        await storage.close();
      });

      it('refuses a format 1 value spliced into a sealed checkpoint, on the read', async () => {
        const medium = await createMedium();
        const storage = current(medium);
        await commit(legacy(medium), 'acct', { balance: 100, limit: 5 });
        const old = await snapshot(medium, 'acct');
        await medium.removeCheckpoint('acct');
        await commit(storage, 'acct', { balance: 50, limit: 5 });
        const sealed = await snapshot(medium, 'acct');
        sealed.set('balance', old.get('balance')!);
        await rebuild(medium, 'acct', sealed);
        const loaded = await storage.loadCheckpoint('acct');
        expect(await loaded.get('limit')).toBe(5);
        const error = (await caught(loaded.get('balance'))) as CheckpointError;
        expect(error.kind).toBe('Integrity');
        expect(error.message).toContain(
          `Value "balance" of checkpoint "acct" failed the ${firstChecker} check: it has envelope format 1, written before checkpoints were sealed, but this checkpoint is sealed: it was put here from an older checkpoint.`,
        );
        await loaded.release();
        await storage.close();
      });

      it('has no authenticated key set (documented limit of data without a seal)', async () => {
        const medium = await createMedium();
        await commit(legacy(medium), 'acct', { balance: 100, limit: 5 });
        const old = await snapshot(medium, 'acct');
        old.delete('limit');
        await rebuild(medium, 'acct', old);
        const storage = current(medium);
        const loaded = await storage.loadCheckpoint('acct');
        expect(await loaded.keys()).toEqual(['balance']);
        expect(await loaded.get('balance')).toBe(100);
        await loaded.release();
        await storage.close();
      });
    });
  }
}

describe('format 1 values read with a wrong key', () => {
  it('name the value, the key id and the fix, word for word', async () => {
    const medium = new MemoryStorage();
    await commit(new LegacyHmacWriter(medium, KEY_A), 'orders', { 'order-7': { total: 12 } });
    const loaded = await HmacWrapper.wrap(medium, KEY_B).loadCheckpoint('orders');
    const error = (await caught(loaded.get('order-7'))) as CheckpointError;
    expect(error.message).toBe(
      'Value "order-7" of checkpoint "orders" failed the HmacWrapper check: its HMAC-SHA256 tag does not match (key id "default"). Either the key listed as "default" is not the key that wrote it (check the configured key), or the value was changed, or moved here from another key or checkpoint. The value is not returned because it cannot be trusted; restore the checkpoint from a backup if the key is right.',
    );
    await loaded.release();
  });
});
