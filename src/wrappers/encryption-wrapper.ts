/**
 * EncryptionWrapper: keeps values secret at rest, and authenticated: AES-256-GCM with a
 * fresh random 96-bit IV per value, the checkpoint identifier, key and commit id as
 * additional authenticated data, a checkpoint seal (`checkpoint-seal.ts`) that
 * authenticates each commit's set of keys and `createdAt`, and a keyring for rotation.
 *
 * Envelope, format version 2 (common header in `envelope.ts`):
 *
 * ```
 * offset  size  field
 * 0       4     magic "CPEN" (0x43 0x50 0x45 0x4E)
 * 4       1     format version: 2
 * 5       1     algorithm id: 1 = AES-256-GCM, key from HKDF-SHA256 (below)
 * 6       1     K = key id length in bytes (1..255)
 * 7       K     key id, UTF-8 ("default" for a bare key)
 * 7+K     16    commit id
 * 23+K    12    IV, random per value
 * 35+K    16    GCM authentication tag
 * 51+K    N     ciphertext (same length as the plaintext)
 *
 * AAD = "checkpointable/encrypt/v2\0"
 *       || bytes 0..22+K (the header: key id and commit id included)
 *       || u32be(len) || identifier as UTF-16LE || u32be(len) || key as UTF-16LE
 * ```
 *
 * Format version 1, written before checkpoints were sealed, is still read: no commit id
 * (IV at 7+K, tag at 19+K, ciphertext at 35+K) and the domain string
 * "checkpointable/encrypt/v1\0" in the AAD. It is accepted only in a checkpoint without a
 * seal, and a checkpoint without a seal only if none of its values is format 2.
 *
 * How a key becomes an AES-256 key: every key, whatever its length (at least 16 bytes,
 * see `keyring.ts`), goes through HKDF-SHA256 (`node:crypto` `hkdfSync`) with an empty
 * salt and the info string "checkpointable/aes-256-gcm/v1", giving 32 bytes. A 32-byte key
 * is derived too, not used directly: one rule for every length, and the same secret can
 * serve HmacWrapper (which uses it as given) and EncryptionWrapper without the two uses
 * ever sharing a key. HKDF does not strengthen a guessable password; use random keys.
 *
 * With random IVs, one key should encrypt at most about 2^32 values (NIST SP 800-38D);
 * rotate the active key well before that.
 *
 * A wrong key, a changed byte anywhere, or a value moved to another key or checkpoint
 * fails GCM authentication: a `CheckpointError` of kind `Integrity`, never plaintext.
 */
import {
  createCipheriv,
  createDecipheriv,
  createSecretKey,
  hkdfSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { quote } from '../errors';
import type { Storage } from '../storage/storage';
import { sealKey } from './checkpoint-seal';
import {
  asBuffer,
  domainStrings,
  envelopeError,
  headerSize,
  KEYED_VERSIONS,
  locationBinding,
  readHeader,
  SEALED_ENVELOPE_VERSION,
  unlistedKeyError,
  writeHeader,
  wrongKeyOrChanged,
} from './envelope';
import { resolveKeyring, type KeyInput, type Keyring } from './keyring';
import { SealingWrapper, type OpenedValue, type SealedValue } from './sealing-wrapper';

const MAGIC = Buffer.from('CPEN', 'latin1');
const AES_256_GCM = 1;
const IV_SIZE = 12;
const TAG_SIZE = 16;
const DOMAINS = domainStrings('encrypt');
const HKDF_INFO = Buffer.from('checkpointable/aes-256-gcm/v1', 'latin1');

/**
 * Encrypts every value with AES-256-GCM and authenticates it together with its
 * checkpoint identifier, key and commit, and each commit's set of keys and `createdAt` in
 * a seal; a wrong key or any tampering (a changed, dropped, added or moved value, or one
 * from another commit of the same identifier) is a `CheckpointError` of kind `Integrity`.
 * The key `@checkpointable.seal.encryption` is reserved. Accepts one key or a
 * {@link Keyring}: new values use the active key, old values are read with the key their
 * envelope names.
 *
 * @example
 * ```ts
 * const storage = GuardWrapper.wrap(
 *   EncryptionWrapper.wrap(await FileStorage.openRaw('./data'), process.env.CHECKPOINT_KEY!),
 * );
 * ```
 */
export class EncryptionWrapper extends SealingWrapper {
  protected readonly storageName = 'EncryptionWrapper';
  readonly #activeId: string;
  readonly #activeIdBytes: Buffer;
  readonly #keys: ReadonlyMap<string, KeyObject>;

  private constructor(inner: Storage, key: KeyInput | Keyring) {
    super(inner, {
      wrapperName: 'EncryptionWrapper',
      magic: MAGIC,
      sealKey: sealKey('encryption'),
      tagSize: TAG_SIZE,
    });
    const ring = resolveKeyring('EncryptionWrapper', key);
    this.#activeId = ring.activeId;
    this.#activeIdBytes = ring.activeIdBytes;
    const derived = new Map<string, KeyObject>();
    for (const [id, secret] of ring.keys) {
      const aesKey = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), HKDF_INFO, 32));
      derived.set(id, createSecretKey(aesKey));
      aesKey.fill(0);
    }
    this.#keys = derived;
  }

  /**
   * Wraps `storage`. Synchronous, like every wrapper.
   *
   * @param storage the storage that keeps the encrypted bytes
   * @param key a key of at least 16 bytes, or a {@link Keyring} for rotation
   * @throws {CheckpointError} `Initialization` for a missing or short key or a malformed
   *   keyring (the message names the key id, never the key)
   *
   * @example
   * ```ts
   * const secret = EncryptionWrapper.wrap(new MemoryStorage(), {
   *   active: '2026-06',
   *   keys: { '2026-01': process.env.OLD_KEY!, '2026-06': process.env.NEW_KEY! },
   * });
   * ```
   */
  static wrap(storage: Storage, key: KeyInput | Keyring): EncryptionWrapper {
    return new EncryptionWrapper(storage, key);
  }

  /**
   * The id of the key new values are encrypted with.
   * @example
   * ```ts
   * logger.info(`checkpoints encrypted with key ${wrapper.activeKeyId}`);
   * ```
   */
  get activeKeyId(): string {
    return this.#activeId;
  }

  /** @internal */
  sealValue(identifier: string, key: string, bytes: Uint8Array, commitId: Buffer): SealedValue {
    const plaintext = asBuffer(bytes);
    const header = headerSize(this.#activeIdBytes.length, true);
    const out = Buffer.allocUnsafe(header + IV_SIZE + TAG_SIZE + plaintext.length);
    writeHeader(out, MAGIC, AES_256_GCM, this.#activeIdBytes, commitId);
    const iv = randomBytes(IV_SIZE);
    iv.copy(out, header);
    const cipher = createCipheriv('aes-256-gcm', this.#keys.get(this.#activeId)!, iv, {
      authTagLength: TAG_SIZE,
    });
    cipher.setAAD(aad(SEALED_ENVELOPE_VERSION, out.subarray(0, header), identifier, key));
    const body = header + IV_SIZE + TAG_SIZE;
    let at = body + cipher.update(plaintext).copy(out, body);
    at += cipher.final().copy(out, at);
    const tag = cipher.getAuthTag();
    tag.copy(out, header + IV_SIZE);
    return { envelope: out.subarray(0, at), tag };
  }

  /** @internal */
  openValue(identifier: string, key: string, bytes: Uint8Array): OpenedValue {
    const context = { wrapperName: 'EncryptionWrapper', identifier, key };
    const envelope = asBuffer(bytes);
    const { version, keyId, commitId, offset } = readHeader(
      envelope,
      MAGIC,
      [AES_256_GCM],
      true,
      context,
      KEYED_VERSIONS,
    );
    const body = offset + IV_SIZE + TAG_SIZE;
    if (envelope.length < body) {
      throw envelopeError(
        'Integrity',
        context,
        'the envelope is cut short inside its IV or authentication tag',
        'The stored bytes were damaged; restore the checkpoint from a backup or write it again.',
      );
    }
    const secret = this.#keys.get(keyId!);
    if (secret === undefined) {
      throw unlistedKeyError(context, 'encrypted', keyId!, this.#keys.keys());
    }
    const decipher = createDecipheriv(
      'aes-256-gcm',
      secret,
      envelope.subarray(offset, offset + IV_SIZE),
      { authTagLength: TAG_SIZE },
    );
    const tag = envelope.subarray(offset + IV_SIZE, body);
    decipher.setAuthTag(tag);
    decipher.setAAD(aad(version, envelope.subarray(0, offset), identifier, key));
    // Its own ArrayBuffer (not Node's shared pool), so the caller sees only the value.
    const plaintext = new Uint8Array(envelope.length - body);
    const target = asBuffer(plaintext);
    try {
      let at = decipher.update(envelope.subarray(body)).copy(target);
      at += decipher.final().copy(target, at);
      return { version, commitId, tag, payload: plaintext.subarray(0, at) };
    } catch (error) {
      // Nothing decrypted leaves this function unless the tag matched.
      plaintext.fill(0);
      throw envelopeError(
        'Integrity',
        context,
        `AES-256-GCM authentication failed (key id ${quote(keyId!)})`,
        wrongKeyOrChanged(keyId!),
        error,
      );
    }
  }
}

function aad(version: number, header: Buffer, identifier: string, key: string): Buffer {
  return Buffer.concat([DOMAINS[version], header, locationBinding(identifier, key)]);
}
