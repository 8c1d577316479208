import { CheckpointError, HmacWrapper, MemoryStorage } from 'checkpointable';
import { EnvelopeTap, wrapperSuite } from 'checkpointable/testing';
import { createHmac } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { caught, KEY_A, KEY_B, KEYRINGS, RAW_KEY, SECRETS } from './test-keys';

wrapperSuite('HmacWrapper (string key)', {
  wrap: (inner) => HmacWrapper.wrap(inner, KEY_A),
  wrapWithOtherKey: (inner) => HmacWrapper.wrap(inner, KEY_B),
  bindsLocation: true,
  sealKey: '@checkpointable.seal.hmac',
  secrets: SECRETS,
});

wrapperSuite('HmacWrapper (keyring, raw 20-byte key)', {
  wrap: (inner) => HmacWrapper.wrap(inner, { active: 'k1', keys: { k1: RAW_KEY } }),
  wrapWithOtherKey: (inner) => HmacWrapper.wrap(inner, { active: 'k1', keys: { k1: KEY_B } }),
  rotation: {
    before: (inner) => HmacWrapper.wrap(inner, KEYRINGS.before),
    after: (inner) => HmacWrapper.wrap(inner, KEYRINGS.after),
    withoutOld: (inner) => HmacWrapper.wrap(inner, KEYRINGS.withoutOld),
    oldKeyId: 'k1',
  },
  bindsLocation: true,
  secrets: SECRETS,
});

async function initError(key: unknown): Promise<CheckpointError> {
  const error = await caught(() => HmacWrapper.wrap(new MemoryStorage(), key as string));
  expect(error).toBeInstanceOf(CheckpointError);
  expect((error as CheckpointError).kind).toBe('Initialization');
  for (const secret of SECRETS) {
    expect((error as Error).message).not.toContain(Buffer.from(secret).toString());
  }
  return error as CheckpointError;
}

describe('HmacWrapper', () => {
  it('writes the documented format 2 envelope and tag, bound to the commit id', async () => {
    const tap = new EnvelopeTap(new MemoryStorage());
    const storage = HmacWrapper.wrap(tap, KEY_A);
    const draft = await storage.createCheckpoint('layout');
    await draft.putBytes('v', new Uint8Array([7, 8]));
    await draft.putBytes('w', new Uint8Array([9]));
    const envelope = Buffer.from(tap.envelope('layout', 'v'));
    const commitId = envelope.subarray(14, 30);
    expect(commitId.length).toBe(16);
    // One commit id per uncommitted checkpoint, shared by all its values.
    expect(Buffer.from(tap.envelope('layout', 'w')).subarray(14, 30)).toEqual(commitId);
    const header = Buffer.concat([
      Buffer.from('CPHM'),
      Buffer.from([2, 1, 7]),
      Buffer.from('default'),
      commitId,
    ]);
    expect(envelope.subarray(0, 30)).toEqual(header);
    const binding = Buffer.concat([
      Buffer.from([0, 0, 0, 12]),
      Buffer.from('layout', 'utf16le'),
      Buffer.from([0, 0, 0, 2]),
      Buffer.from('v', 'utf16le'),
    ]);
    const tag = createHmac('sha256', Buffer.from(KEY_A))
      .update('checkpointable/hmac/v2\0')
      .update(header)
      .update(binding)
      .update(Buffer.from([7, 8]))
      .digest();
    expect(envelope.subarray(30, 62)).toEqual(tag);
    expect([...envelope.subarray(62)]).toEqual([7, 8]);
    expect(envelope.includes(Buffer.from(KEY_A))).toBe(false);
    // A second uncommitted checkpoint draws another commit id.
    const other = await storage.createCheckpoint('layout-2');
    await other.putBytes('v', new Uint8Array([7, 8]));
    expect(Buffer.from(tap.envelope('layout-2', 'v')).subarray(14, 30)).not.toEqual(commitId);
    await other.discard();
    await draft.discard();
  });

  it('binds astral characters exactly: names that differ only in one surrogate pair stay apart', async () => {
    const tap = new EnvelopeTap(new MemoryStorage());
    const storage = HmacWrapper.wrap(tap, KEY_A);
    const draft = await storage.createCheckpoint('c');
    await draft.put('a\u{1F600}', 'first');
    await draft.put('a\u{1F601}', 'second');
    await (await storage.commitCheckpoint(draft)).release();
    const moved = tap.envelope('c', 'a\u{1F600}');
    tap.onRead = (_id, key, bytes) => (key === 'a\u{1F601}' ? moved : bytes);
    const loaded = await storage.loadCheckpoint('c');
    expect(await loaded.get('a\u{1F600}')).toBe('first');
    const error = (await caught(loaded.get('a\u{1F601}'))) as CheckpointError;
    expect(error.kind).toBe('Integrity');
    await loaded.release();
  });

  it('refuses short, missing and malformed keys with Initialization, never showing them', async () => {
    expect((await initError('fifteen-bytes!!')).message).toBe(
      'HmacWrapper: the key "default" is shorter than 16 bytes; use at least 16 (better 32) random bytes, e.g. from `openssl rand -base64 32`.',
    );
    expect((await initError(new Uint8Array(15))).message).toContain('shorter than 16 bytes');
    expect((await initError('')).message).toContain('shorter than 16 bytes');
    expect((await initError(undefined)).message).toBe(
      'HmacWrapper: the key is undefined; pass a string or Uint8Array of at least 16 bytes, or a keyring { active, keys }. Is the environment variable holding the key set?',
    );
    expect((await initError({ active: 'k3', keys: { k1: KEY_A } })).message).toBe(
      'HmacWrapper: the active key id "k3" is not in the keyring (it lists "k1"); add it to `keys` or pick one of those.',
    );
    expect((await initError({ active: 'k1', keys: {} })).message).toContain('lists no keys');
    expect((await initError({ keys: { k1: KEY_A } })).message).toContain('no `active` key id');
    expect((await initError({ active: 'k1' })).message).toContain('no `keys` object');
    expect((await initError({ active: 'k1', keys: { k1: 42 } })).message).toBe(
      'HmacWrapper: the key "k1" is a number; pass a string or Uint8Array of at least 16 bytes. Is the environment variable holding it set?',
    );
    expect(
      (await initError({ active: 'k1', keys: { k1: KEY_A, 'bad\nid': KEY_B } })).message,
    ).toContain('key ids are 1 to 255 bytes of UTF-8 without control characters');
    expect((await initError({ active: 'k1', keys: { k1: KEY_A, k2: 'short' } })).message).toContain(
      'the key "k2" is shorter than 16 bytes',
    );
  });

  it('says a Float64Array or DataView key must be a string, Buffer or Uint8Array', async () => {
    const bytes = new ArrayBuffer(32);
    expect((await initError(new Float64Array(bytes))).message).toBe(
      'HmacWrapper: the key is a Float64Array; a key must be a string, Buffer or Uint8Array of at least 16 bytes (wrap the bytes: new Uint8Array(view.buffer, view.byteOffset, view.byteLength)).',
    );
    expect((await initError(new DataView(bytes))).message).toBe(
      'HmacWrapper: the key is a DataView; a key must be a string, Buffer or Uint8Array of at least 16 bytes (wrap the bytes: new Uint8Array(view.buffer, view.byteOffset, view.byteLength)).',
    );
    expect((await initError(bytes)).message).toBe(
      'HmacWrapper: the key is an ArrayBuffer; a key must be a string, Buffer or Uint8Array of at least 16 bytes (wrap the bytes: new Uint8Array(view.buffer, view.byteOffset, view.byteLength)).',
    );
    expect((await initError({ active: 'k1', keys: { k1: new DataView(bytes) } })).message).toBe(
      'HmacWrapper: the key "k1" is a DataView; a key must be a string, Buffer or Uint8Array of at least 16 bytes (wrap the bytes: new Uint8Array(view.buffer, view.byteOffset, view.byteLength)).',
    );
  });

  it('copies the key, and never shows it when inspected', async () => {
    const key = new Uint8Array(Buffer.from(KEY_A));
    const tap = new EnvelopeTap(new MemoryStorage());
    const storage = HmacWrapper.wrap(tap, key);
    key.fill(0); // the caller wiping its buffer must not change the wrapper's key
    const draft = await storage.createCheckpoint('copy');
    await draft.put('v', 1);
    await (await storage.commitCheckpoint(draft)).release();
    const reader = HmacWrapper.wrap(tap, KEY_A);
    const loaded = await reader.loadCheckpoint('copy');
    expect(await loaded.get('v')).toBe(1);
    await loaded.release();
    const shown = inspect(storage, { depth: 10, showHidden: true });
    expect(shown).not.toContain(KEY_A);
    expect(shown).not.toContain(Buffer.from(KEY_A).toString('hex'));
    expect(storage.activeKeyId).toBe('default');
  });

  it('names the key id and the fix when the tag does not match', async () => {
    const storage = new MemoryStorage();
    const writer = HmacWrapper.wrap(storage, KEY_A);
    const draft = await writer.createCheckpoint('orders');
    await draft.put('order-7', { total: 12 });
    await (await writer.commitCheckpoint(draft)).release();
    const error = (await caught(
      HmacWrapper.wrap(storage, KEY_B).loadCheckpoint('orders'),
    )) as CheckpointError;
    expect(error.message).toBe(
      'The seal "@checkpointable.seal.hmac" of checkpoint "orders" failed the HmacWrapper check: its HMAC-SHA256 tag does not match (key id "default"). Either the key listed as "default" is not the key that wrote it (check the configured key), or the value was changed, or moved here from another key or checkpoint. The value is not returned because it cannot be trusted; restore the checkpoint from a backup if the key is right.',
    );
    expect(error.kind).toBe('Integrity');
    expect(error.key).toBe('@checkpointable.seal.hmac');
  });
});
