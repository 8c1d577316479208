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
import { checkpointSealSuite, EnvelopeTap, sealKeysOf } from 'checkpointable/testing';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RECOMMENDED_CHAIN } from './chains';
import { LegacyHmacWriter } from './legacy-envelopes';
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
  it('lists the seal keys of a chain, outermost first', () => {
    expect(sealKeysOf(buildWrapperChain(new MemoryStorage(), GUARD_INNERMOST))).toEqual([
      ENCRYPTION_SEAL,
      HMAC_SEAL,
    ]);
    expect(sealKeysOf(ChecksumWrapper.wrap(new MemoryStorage()))).toEqual([]);
  });

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

/** A format 2 HMAC envelope built by hand from the documented layout. */
function hmacEnvelope(identifier: string, key: string, commitId: Buffer, payload: Buffer): Buffer {
  const header = Buffer.concat([
    Buffer.from('CPHM'),
    Buffer.from([2, 1, 7]),
    Buffer.from('default'),
    commitId,
  ]);
  const lengths = (s: string) => {
    const out = Buffer.alloc(4);
    out.writeUInt32BE(Buffer.byteLength(s, 'utf16le'));
    return Buffer.concat([out, Buffer.from(s, 'utf16le')]);
  };
  const tag = createHmac('sha256', Buffer.from(KEY_A))
    .update('checkpointable/hmac/v2\0')
    .update(header)
    .update(lengths(identifier))
    .update(lengths(key))
    .update(payload)
    .digest();
  return Buffer.concat([header, tag, payload]);
}

/** A manifest built by hand: createdAt, tag size, count, then raw entries. */
function manifest(fields: {
  createdAt?: bigint;
  tagSize?: number;
  count: number;
  entries?: [string, Buffer][];
  trailer?: Buffer;
}): Buffer {
  const head = Buffer.alloc(18);
  head.write('CPSL', 0, 'latin1');
  head[4] = 1;
  head.writeBigUInt64BE(fields.createdAt ?? 1_700_000_000_000n, 5);
  head[13] = fields.tagSize ?? 32;
  head.writeUInt32BE(fields.count, 14);
  const entries = (fields.entries ?? []).map(([key, tag]) => {
    const length = Buffer.alloc(2);
    length.writeUInt16BE(key.length * 2);
    return Buffer.concat([length, Buffer.from(key, 'utf16le'), tag]);
  });
  return Buffer.concat([head, ...entries, fields.trailer ?? Buffer.alloc(0)]);
}

describe('a seal signed with the key but malformed', () => {
  const commitId = Buffer.alloc(16, 7);
  const tag = Buffer.alloc(32, 1);
  const cases: [string, Buffer, string][] = [
    [
      'a count its bytes cannot hold',
      manifest({ count: 0xffffffff }),
      'says it lists 4294967295 keys, more than its 18 bytes can hold',
    ],
    [
      'keys out of order',
      manifest({
        count: 2,
        entries: [
          ['b', tag],
          ['a', tag],
        ],
      }),
      'lists "a" out of order or twice',
    ],
    [
      'a key twice',
      manifest({
        count: 2,
        entries: [
          ['a', tag],
          ['a', tag],
        ],
      }),
      'lists "a" out of order or twice',
    ],
    [
      'an invalid key',
      manifest({ count: 1, entries: [['a/b', tag]] }),
      "lists an invalid key (it contains '/' at position 1)",
    ],
    ['itself', manifest({ count: 1, entries: [[HMAC_SEAL, tag]] }), 'lists itself'],
    [
      'bytes after its last key',
      manifest({ count: 0, trailer: Buffer.from([0]) }),
      'has 1 byte after its last key',
    ],
    ['tags of another size', manifest({ count: 0, tagSize: 16 }), 'lists tags of 16 bytes, not 32'],
    [
      'a time past the end of Dates',
      manifest({ count: 0, createdAt: 2n ** 63n }),
      'holds a creation time past the year 275760',
    ],
    ['no manifest', Buffer.from('not a manifest at all'), 'does not hold a manifest'],
  ];
  for (const [what, payload, problem] of cases) {
    it(`is Integrity on load when its manifest has ${what}`, async () => {
      const medium = new MemoryStorage();
      const draft = await medium.createCheckpoint('acct');
      await draft.putBytes(HMAC_SEAL, hmacEnvelope('acct', HMAC_SEAL, commitId, payload));
      await (await medium.commitCheckpoint(draft)).release();
      const error = (await caught(
        HmacWrapper.wrap(medium, KEY_A).loadCheckpoint('acct'),
      )) as CheckpointError;
      expect(error).toBeInstanceOf(CheckpointError);
      expect(error.kind).toBe('Integrity');
      expect(error.message).toBe(
        `Checkpoint "acct" failed the HmacWrapper seal check: its seal "${HMAC_SEAL}" ${problem}. The seal was written by a program that holds the key but does not follow this format; restore the checkpoint from a backup.`,
      );
    });
  }

  it('accepts the hand-built seal when it is well formed (the layout is the documented one)', async () => {
    const medium = new MemoryStorage();
    const value = Buffer.from('CPV-not-decoded');
    const valueEnvelope = hmacEnvelope('acct', 'raw', commitId, value);
    const valueTag = valueEnvelope.subarray(30, 62);
    const draft = await medium.createCheckpoint('acct');
    await draft.putBytes('raw', valueEnvelope);
    await draft.putBytes(
      HMAC_SEAL,
      hmacEnvelope(
        'acct',
        HMAC_SEAL,
        commitId,
        manifest({ count: 1, entries: [['raw', valueTag]] }),
      ),
    );
    await (await medium.commitCheckpoint(draft)).release();
    const loaded = await HmacWrapper.wrap(medium, KEY_A).loadCheckpoint('acct');
    expect(await loaded.keys()).toEqual(['raw']);
    expect(loaded.createdAt.getTime()).toBe(1_700_000_000_000);
    expect(Buffer.from(await loaded.getBytes('raw')).equals(value)).toBe(true);
    await loaded.release();
  });

  it('is Integrity on load when the seal is a format 1 envelope', async () => {
    const medium = new MemoryStorage();
    await commit(new LegacyHmacWriter(medium, KEY_A), 'acct', { [HMAC_SEAL]: 1, v: 2 });
    const error = (await caught(
      HmacWrapper.wrap(medium, KEY_A).loadCheckpoint('acct'),
    )) as CheckpointError;
    expect(error.kind).toBe('Integrity');
    expect(error.message).toContain(
      `its seal "${HMAC_SEAL}" has envelope format 1, and seals are always written in format 2`,
    );
  });
});
