import { CheckpointError, EncryptionWrapper, HmacWrapper, MemoryStorage } from 'checkpointable';
import { EnvelopeTap, wrapperSuite } from 'checkpointable/testing';
import { createDecipheriv, hkdfSync } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { caught, KEY_A, KEY_B, KEYRINGS, RAW_KEY, SECRETS } from './test-keys';

wrapperSuite('EncryptionWrapper (string key)', {
  wrap: (inner) => EncryptionWrapper.wrap(inner, KEY_A),
  wrapWithOtherKey: (inner) => EncryptionWrapper.wrap(inner, KEY_B),
  bindsLocation: true,
  sealKey: '@checkpointable.seal.encryption',
  hidesPlaintext: true,
  secrets: SECRETS,
});

wrapperSuite('EncryptionWrapper (keyring, raw 20-byte key)', {
  wrap: (inner) => EncryptionWrapper.wrap(inner, { active: 'k1', keys: { k1: RAW_KEY } }),
  wrapWithOtherKey: (inner) => EncryptionWrapper.wrap(inner, { active: 'k1', keys: { k1: KEY_B } }),
  rotation: {
    before: (inner) => EncryptionWrapper.wrap(inner, KEYRINGS.before),
    after: (inner) => EncryptionWrapper.wrap(inner, KEYRINGS.after),
    withoutOld: (inner) => EncryptionWrapper.wrap(inner, KEYRINGS.withoutOld),
    oldKeyId: 'k1',
  },
  bindsLocation: true,
  hidesPlaintext: true,
  secrets: SECRETS,
});

describe('EncryptionWrapper', () => {
  it('writes the documented format 2 envelope: decryptable with HKDF-SHA256 key, IV, tag and AAD', async () => {
    const tap = new EnvelopeTap(new MemoryStorage());
    const storage = EncryptionWrapper.wrap(tap, { active: 'k1', keys: { k1: RAW_KEY } });
    const draft = await storage.createCheckpoint('layout');
    await draft.putBytes('v', Buffer.from('secret value'));
    const envelope = Buffer.from(tap.envelope('layout', 'v'));
    const commitId = envelope.subarray(9, 25);
    const header = Buffer.concat([
      Buffer.from('CPEN'),
      Buffer.from([2, 1, 2]),
      Buffer.from('k1'),
      commitId,
    ]);
    expect(envelope.subarray(0, 25)).toEqual(header);
    const aesKey = Buffer.from(
      hkdfSync('sha256', RAW_KEY, Buffer.alloc(0), 'checkpointable/aes-256-gcm/v1', 32),
    );
    const decipher = createDecipheriv('aes-256-gcm', aesKey, envelope.subarray(25, 37));
    decipher.setAuthTag(envelope.subarray(37, 53));
    decipher.setAAD(
      Buffer.concat([
        Buffer.from('checkpointable/encrypt/v2\0'),
        header,
        Buffer.from([0, 0, 0, 12]),
        Buffer.from('layout', 'utf16le'),
        Buffer.from([0, 0, 0, 2]),
        Buffer.from('v', 'utf16le'),
      ]),
    );
    const plain = Buffer.concat([decipher.update(envelope.subarray(53)), decipher.final()]);
    expect(plain.toString()).toBe('secret value');
    expect(envelope.length).toBe(53 + 'secret value'.length);
    await draft.discard();
  });

  it('uses a fresh IV for every value, so equal values encrypt differently', async () => {
    const tap = new EnvelopeTap(new MemoryStorage());
    const storage = EncryptionWrapper.wrap(tap, KEY_A);
    const draft = await storage.createCheckpoint('ivs');
    const ivs = new Set<string>();
    for (let i = 0; i < 50; i++) {
      await draft.put('same', 'same value');
      ivs.add(Buffer.from(tap.envelope('ivs', 'same')).subarray(30, 42).toString('hex'));
    }
    expect(ivs.size).toBe(50);
    await draft.discard();
  });

  it('refuses a short key with Initialization, naming the key id and not the key', async () => {
    const error = (await caught(() =>
      EncryptionWrapper.wrap(new MemoryStorage(), { active: 'prod', keys: { prod: 'too-short' } }),
    )) as CheckpointError;
    expect(error.kind).toBe('Initialization');
    expect(error.message).toBe(
      'EncryptionWrapper: the key "prod" is shorter than 16 bytes; use at least 16 (better 32) random bytes, e.g. from `openssl rand -base64 32`.',
    );
  });

  it('never shows its keys when inspected', () => {
    const storage = EncryptionWrapper.wrap(new MemoryStorage(), KEY_A);
    const shown = inspect(storage, { depth: 10, showHidden: true });
    expect(shown).not.toContain(KEY_A);
    expect(storage.activeKeyId).toBe('default');
  });

  it('gives HMAC and encryption different keys from one secret', async () => {
    // The same secret may configure both wrappers; the HMAC envelope must still not be
    // accepted by encryption, nor the other way round.
    const inner = new MemoryStorage();
    const hmac = HmacWrapper.wrap(inner, KEY_A);
    const draft = await hmac.createCheckpoint('one-secret');
    await draft.put('v', 'x');
    await (await hmac.commitCheckpoint(draft)).release();
    const loaded = await EncryptionWrapper.wrap(inner, KEY_A).loadCheckpoint('one-secret');
    const error = (await caught(loaded.get('v'))) as CheckpointError;
    expect(error.kind).toBe('Integrity');
    expect(error.message).toContain('it is the envelope of HmacWrapper');
    await loaded.release();
  });

  it('names the key id and the fix when authentication fails', async () => {
    const inner = new MemoryStorage();
    const writer = EncryptionWrapper.wrap(inner, KEY_A);
    const draft = await writer.createCheckpoint('orders');
    await draft.put('order-7', { total: 12 });
    await (await writer.commitCheckpoint(draft)).release();
    const error = (await caught(
      EncryptionWrapper.wrap(inner, KEY_B).loadCheckpoint('orders'),
    )) as CheckpointError;
    expect(error.message).toBe(
      'The seal "@checkpointable.seal.encryption" of checkpoint "orders" failed the EncryptionWrapper check: AES-256-GCM authentication failed (key id "default"). Either the key listed as "default" is not the key that wrote it (check the configured key), or the value was changed, or moved here from another key or checkpoint. The value is not returned because it cannot be trusted; restore the checkpoint from a backup if the key is right.',
    );
    expect(error.kind).toBe('Integrity');
    expect(error.key).toBe('@checkpointable.seal.encryption');
  });
});
