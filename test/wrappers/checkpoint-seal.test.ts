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
  type WrapperConfig,
} from 'checkpointable';
import { checkpointSealSuite, EnvelopeTap } from 'checkpointable/testing';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RECOMMENDED_CHAIN } from './chains';
import { caught, KEY_A, KEY_B } from './test-keys';

const HMAC_SEAL = '@checkpointable.seal.hmac';
const ENCRYPTION_SEAL = '@checkpointable.seal.encryption';

const root = mkdtempSync(join(tmpdir(), 'cp-seal-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const fileStorage = () => FileStorage.openRaw(join(root, `s${dirs++}`), { durability: 'atomic' });

const GUARD_INNERMOST: WrapperConfig[] = [
  'guard',
  'checksum',
  { hmac: { key: KEY_A } },
  { encrypt: { key: KEY_B } },
];

// HmacWrapper and EncryptionWrapper over MemoryStorage run this suite from wrapperSuite.
const SETUPS: [string, (inner: Storage) => Storage, string[]][] = [
  ['HmacWrapper', (inner) => HmacWrapper.wrap(inner, KEY_A), [HMAC_SEAL]],
  ['EncryptionWrapper', (inner) => EncryptionWrapper.wrap(inner, KEY_B), [ENCRYPTION_SEAL]],
  [
    'recommended chain',
    (inner) => buildWrapperChain(inner, RECOMMENDED_CHAIN),
    [ENCRYPTION_SEAL, HMAC_SEAL],
  ],
  [
    'chain with guard innermost',
    (inner) => buildWrapperChain(inner, GUARD_INNERMOST),
    [ENCRYPTION_SEAL, HMAC_SEAL],
  ],
];

for (const [name, wrap, sealKeys] of SETUPS) {
  checkpointSealSuite(`${name} over FileStorage.openRaw()`, {
    wrap,
    createInner: fileStorage,
    sealKeys,
  });
  if (name.includes('chain')) {
    checkpointSealSuite(`${name} over MemoryStorage`, { wrap, sealKeys });
  }
}

async function commit(storage: Storage, identifier: string, values: Record<string, unknown>) {
  const draft = await storage.createCheckpoint(identifier);
  for (const [key, value] of Object.entries(values)) await draft.put(key, value);
  await (await storage.commitCheckpoint(draft)).release();
}

/** Every key and its bytes as `layer` returns them. */
async function snapshot(layer: Storage, identifier: string): Promise<Map<string, Uint8Array>> {
  const loaded = await layer.loadCheckpoint(identifier);
  const out = new Map<string, Uint8Array>();
  for (const key of await loaded.keys()) out.set(key, await loaded.getBytes(key));
  await loaded.release();
  return out;
}

/** Replaces `identifier` by a checkpoint holding `entries`, written through `layer`. */
async function rebuild(layer: Storage, identifier: string, entries: Map<string, Uint8Array>) {
  await layer.removeCheckpoint(identifier);
  const draft = await layer.createCheckpoint(identifier);
  for (const [key, bytes] of entries) await draft.putBytes(key, bytes);
  await (await layer.commitCheckpoint(draft)).release();
}

describe('a sealing layer inside a chain', () => {
  /** The recommended chain by hand, so each layer can be reached. */
  async function chain() {
    const medium = await fileStorage();
    const checksum = ChecksumWrapper.wrap(medium);
    const hmac = HmacWrapper.wrap(checksum, KEY_A);
    const encrypt = EncryptionWrapper.wrap(hmac, KEY_B);
    return { medium, checksum, hmac, encrypt, storage: GuardWrapper.wrap(encrypt) };
  }

  it('catches a value from an older commit spliced in by someone holding the HMAC key', async () => {
    // Through the HMAC layer, the attacker's rebuild is validly signed and sealed for
    // HMAC: only the encryption layer's own seal can tell the commits apart.
    const { hmac, storage } = await chain();
    await commit(storage, 'acct', { balance: 100, limit: 5 });
    const old = await snapshot(hmac, 'acct');
    await storage.removeCheckpoint('acct');
    await commit(storage, 'acct', { balance: 50, limit: 5 });
    const entries = await snapshot(hmac, 'acct');
    expect([...entries.keys()]).toEqual([ENCRYPTION_SEAL, 'balance', 'limit']);
    entries.set('balance', old.get('balance')!);
    await rebuild(hmac, 'acct', entries);
    const loaded = await storage.loadCheckpoint('acct');
    expect(await loaded.get('limit')).toBe(5);
    const error = (await caught(loaded.get('balance'))) as CheckpointError;
    expect(error.kind).toBe('Integrity');
    expect(error.message).toMatch(
      /^Value "balance" of checkpoint "acct" failed the EncryptionWrapper check: it belongs to another commit of this checkpoint \(commit id [0-9a-f]{32}, the seal's is [0-9a-f]{32}\)\. Values were removed, added or replaced after the commit/,
    );
    await loaded.release();
    await storage.close();
  });

  it('catches a key dropped by someone holding the HMAC key, on load', async () => {
    const { hmac, storage } = await chain();
    await commit(storage, 'acct', { balance: 100, limit: 5 });
    const entries = await snapshot(hmac, 'acct');
    entries.delete('limit');
    await rebuild(hmac, 'acct', entries);
    const error = (await caught(storage.loadCheckpoint('acct'))) as CheckpointError;
    expect(error.kind).toBe('Integrity');
    expect(error.message).toBe(
      'Checkpoint "acct" failed the EncryptionWrapper seal check: the seal lists the key "limit" that the storage does not hold. Values were removed, added or replaced after the commit (for example from an older commit of the same identifier); restore the checkpoint from a backup. Nothing that fails this check is returned, because it cannot be trusted.',
    );
    // The failed load gave its hold back: the checkpoint can be removed.
    await storage.removeCheckpoint('acct');
    await storage.close();
  });

  it('catches a key dropped under the checksum layer, at the HMAC seal, on load', async () => {
    const { checksum, storage } = await chain();
    await commit(storage, 'acct', { balance: 100, limit: 5, owner: 'ann' });
    const entries = await snapshot(checksum, 'acct');
    entries.delete('limit');
    entries.delete('owner');
    entries.set('extra', entries.get('balance')!);
    await rebuild(checksum, 'acct', entries);
    const error = (await caught(storage.loadCheckpoint('acct'))) as CheckpointError;
    expect(error.kind).toBe('Integrity');
    expect(error.message).toBe(
      'Checkpoint "acct" failed the HmacWrapper seal check: the seal lists the keys "limit", "owner" that the storage does not hold, and the storage holds the key "extra" that the seal does not list. Values were removed, added or replaced after the commit (for example from an older commit of the same identifier); restore the checkpoint from a backup. Nothing that fails this check is returned, because it cannot be trusted.',
    );
    await storage.close();
  });
});

describe('reserved seal keys', () => {
  for (const [wrap, key, wrapperName] of [
    [(s: Storage) => HmacWrapper.wrap(s, KEY_A), HMAC_SEAL, 'HmacWrapper'],
    [(s: Storage) => EncryptionWrapper.wrap(s, KEY_B), ENCRYPTION_SEAL, 'EncryptionWrapper'],
  ] as const) {
    it(`${wrapperName} refuses ${key} as a user key, word for word`, async () => {
      const storage = wrap(new MemoryStorage());
      const draft = await storage.createCheckpoint('acct');
      const error = (await caught(draft.put(key, 1))) as CheckpointError;
      expect(error.kind).toBe('InvalidIdentifier');
      expect(error.message).toBe(
        `The key "${key}" in checkpoint "acct" is reserved by ${wrapperName} for the checkpoint's seal; choose another key.`,
      );
      expect(error.identifier).toBe('acct');
      expect(error.key).toBe(key);
      await draft.discard();
    });
  }

  it('lets an outer wrapper seal through an inner one (each layer its own key)', async () => {
    const medium = new MemoryStorage();
    const storage = EncryptionWrapper.wrap(HmacWrapper.wrap(medium, KEY_A), KEY_B);
    await commit(storage, 'acct', { v: 1 });
    const raw = await medium.loadCheckpoint('acct');
    expect(await raw.keys()).toEqual([ENCRYPTION_SEAL, HMAC_SEAL, 'v']);
    await raw.release();
    const loaded = await storage.loadCheckpoint('acct');
    expect(await loaded.keys()).toEqual(['v']);
    await loaded.release();
  });
});

describe('one seal per wrapper kind', () => {
  it('refuses a second wrapper of the same kind in one chain, naming the reserved key', async () => {
    const inner = ChecksumWrapper.wrap(HmacWrapper.wrap(new MemoryStorage(), KEY_A));
    const error = (await caught(() => HmacWrapper.wrap(inner, KEY_B))) as CheckpointError;
    expect(error.kind).toBe('Initialization');
    expect(error.message).toBe(
      'HmacWrapper: the storage it wraps already contains another HmacWrapper, and both would keep their checkpoint seal under the one reserved key "@checkpointable.seal.hmac"; use each of HmacWrapper and EncryptionWrapper at most once in a chain.',
    );
  });

  it('says which chain entry it is when built from configuration', async () => {
    const error = (await caught(() =>
      buildWrapperChain(new MemoryStorage(), [
        { encrypt: { key: KEY_A } },
        'checksum',
        { encrypt: { key: KEY_B } },
      ]),
    )) as CheckpointError;
    expect(error.kind).toBe('Initialization');
    expect(error.message).toMatch(
      /^The wrapper chain entry wrappers\[2\]: EncryptionWrapper: the storage it wraps already contains another EncryptionWrapper/,
    );
  });
});

describe('uncommitted handles', () => {
  it('read their own writes, and refuse a value another handle of the same identifier wrote', async () => {
    const tap = new EnvelopeTap(new MemoryStorage());
    const storage = HmacWrapper.wrap(tap, KEY_A);
    const first = await storage.createCheckpoint('acct');
    await first.put('balance', 100);
    const fromFirst = tap.envelope('acct', 'balance');
    await first.discard();
    const draft = await storage.createCheckpoint('acct');
    await draft.put('balance', 100);
    expect(await draft.get('balance')).toBe(100);
    await draft.remove('balance');
    await draft.put('balance', 7);
    await draft.put('limit', 5);
    expect(await draft.keys()).toEqual(['balance', 'limit']);
    tap.onRead = (_id, key, bytes) => (key === 'balance' ? fromFirst : bytes);
    const error = (await caught(draft.get('balance'))) as CheckpointError;
    expect(error.kind).toBe('Integrity');
    expect(error.message).toContain(
      'it was not written through this uncommitted handle (its envelope names another commit)',
    );
    tap.onRead = undefined;
    const saved = await storage.commitCheckpoint(draft);
    expect(await saved.get('balance')).toBe(7);
    expect(await saved.keys()).toEqual(['balance', 'limit']);
    await saved.release();
  });
});
