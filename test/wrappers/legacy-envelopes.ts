import { WrapperStorage, type Storage } from 'checkpointable';
import { createCipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Writers of the format 1 envelopes that HmacWrapper and EncryptionWrapper wrote before
 * checkpoints were sealed: no commit id and no seal. Built here byte by byte from the
 * documented layout, not from the library's code, so they stay what old data looks like.
 */

function binding(identifier: string, key: string): Buffer {
  const id = Buffer.from(identifier, 'utf16le');
  const k = Buffer.from(key, 'utf16le');
  const lengths = Buffer.alloc(8);
  lengths.writeUInt32BE(id.length, 0);
  lengths.writeUInt32BE(k.length, 4);
  return Buffer.concat([lengths.subarray(0, 4), id, lengths.subarray(4), k]);
}

function header(magic: string, keyId: string): Buffer {
  const id = Buffer.from(keyId, 'utf8');
  return Buffer.concat([Buffer.from(magic, 'latin1'), Buffer.from([1, 1, id.length]), id]);
}

/** Writes format 1 HMAC envelopes: header, HMAC-SHA256 tag, payload. */
export class LegacyHmacWriter extends WrapperStorage {
  protected readonly storageName = 'LegacyHmacWriter';

  constructor(
    inner: Storage,
    private readonly secret: string,
    private readonly keyId = 'default',
  ) {
    super(inner);
  }

  override seal(identifier: string, key: string, bytes: Uint8Array): Uint8Array {
    const head = header('CPHM', this.keyId);
    const tag = createHmac('sha256', Buffer.from(this.secret, 'utf8'))
      .update('checkpointable/hmac/v1\0')
      .update(head)
      .update(binding(identifier, key))
      .update(bytes)
      .digest();
    return Buffer.concat([head, tag, bytes]);
  }
}

/** Writes format 1 encryption envelopes: header, IV, GCM tag, ciphertext. */
export class LegacyEncryptionWriter extends WrapperStorage {
  protected readonly storageName = 'LegacyEncryptionWriter';
  private readonly aesKey: Buffer;

  constructor(
    inner: Storage,
    secret: string,
    private readonly keyId = 'default',
  ) {
    super(inner);
    this.aesKey = Buffer.from(
      hkdfSync(
        'sha256',
        Buffer.from(secret, 'utf8'),
        Buffer.alloc(0),
        'checkpointable/aes-256-gcm/v1',
        32,
      ),
    );
  }

  override seal(identifier: string, key: string, bytes: Uint8Array): Uint8Array {
    const head = header('CPEN', this.keyId);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.aesKey, iv);
    cipher.setAAD(
      Buffer.concat([
        Buffer.from('checkpointable/encrypt/v1\0', 'latin1'),
        head,
        binding(identifier, key),
      ]),
    );
    const body = Buffer.concat([cipher.update(bytes), cipher.final()]);
    return Buffer.concat([head, iv, cipher.getAuthTag(), body]);
  }
}
