/**
 * HmacWrapper: proves that a stored value was written by someone holding the key, for
 * this checkpoint and this key, and not changed since.
 *
 * Envelope, format version 1 (common header in `envelope.ts`):
 *
 * ```
 * offset  size  field
 * 0       4     magic "CPHM" (0x43 0x50 0x48 0x4D)
 * 4       1     format version: 1
 * 5       1     algorithm id: 1 = HMAC-SHA256
 * 6       1     K = key id length in bytes (1..255)
 * 7       K     key id, UTF-8 ("default" for a bare key)
 * 7+K     32    tag
 * 39+K    N     payload: the bytes the wrapper above (or the codec) gave
 *
 * tag = HMAC-SHA256(key, "checkpointable/hmac/v1\0"
 *                        || bytes 0..6+K (the header, key id included)
 *                        || u32be(len) || identifier as UTF-16LE
 *                        || u32be(len) || key as UTF-16LE
 *                        || payload)
 * ```
 *
 * Binding the identifier and key means a value copied to another key or another
 * checkpoint fails; binding the header means the key id and algorithm cannot be swapped.
 * The tag is compared with `timingSafeEqual`. The key is used as the HMAC key as given
 * (HMAC accepts any length); the domain string keeps these tags apart from anything else
 * the same key might sign.
 *
 * Rotation: values are signed with the keyring's active key and verified with the key
 * their envelope names, so old checkpoints stay readable while their key stays listed.
 */
import { createHmac, timingSafeEqual, type KeyObject } from 'node:crypto';
import { quote } from '../errors';
import type { Storage } from '../storage/storage';
import {
  asBuffer,
  DAMAGED,
  envelopeError,
  headerSize,
  locationBinding,
  payloadCopy,
  readHeader,
  writeHeader,
} from './envelope';
import { resolveKeyring, type KeyInput, type Keyring, type ResolvedKeyring } from './keyring';
import { WrapperStorage } from './wrapper-storage';

const MAGIC = Buffer.from('CPHM', 'latin1');
const HMAC_SHA256 = 1;
const TAG_SIZE = 32;
const DOMAIN = Buffer.from('checkpointable/hmac/v1\0', 'latin1');

/**
 * Signs every value with HMAC-SHA256 over the checkpoint identifier, the key and the
 * value, and verifies it on every read: a changed value, a value moved to another key or
 * checkpoint, or a wrong key is a `CheckpointError` of kind `Integrity`. Values stay
 * readable in the clear; combine with {@link EncryptionWrapper} to hide them.
 *
 * @example
 * ```ts
 * const storage = GuardWrapper.wrap(
 *   HmacWrapper.wrap(await FileStorage.openRaw('./data'), process.env.CHECKPOINT_KEY!),
 * );
 * ```
 */
export class HmacWrapper extends WrapperStorage {
  protected readonly storageName = 'HmacWrapper';
  readonly #keyring: ResolvedKeyring;

  private constructor(inner: Storage, keyring: ResolvedKeyring) {
    super(inner);
    this.#keyring = keyring;
  }

  /**
   * Wraps `storage`. Synchronous, like every wrapper.
   *
   * @param storage the storage that keeps the signed bytes
   * @param key a key of at least 16 bytes, or a {@link Keyring} for rotation
   * @throws {CheckpointError} `Initialization` for a missing or short key or a malformed
   *   keyring (the message names the key id, never the key)
   *
   * @example
   * ```ts
   * const signed = HmacWrapper.wrap(new MemoryStorage(), {
   *   active: 'k2',
   *   keys: { k1: process.env.OLD_KEY!, k2: process.env.NEW_KEY! },
   * });
   * ```
   */
  static wrap(storage: Storage, key: KeyInput | Keyring): HmacWrapper {
    return new HmacWrapper(storage, resolveKeyring('HmacWrapper', key));
  }

  /**
   * The id of the key new values are signed with.
   * @example
   * ```ts
   * logger.info(`checkpoints signed with key ${wrapper.activeKeyId}`);
   * ```
   */
  get activeKeyId(): string {
    return this.#keyring.activeId;
  }

  override seal(identifier: string, key: string, bytes: Uint8Array): Uint8Array {
    const payload = asBuffer(bytes);
    const keyId = this.#keyring.activeIdBytes;
    const header = headerSize(keyId.length);
    const out = Buffer.allocUnsafe(header + TAG_SIZE + payload.length);
    writeHeader(out, MAGIC, HMAC_SHA256, keyId);
    const secret = this.#keyring.keys.get(this.#keyring.activeId)!;
    tag(secret, out.subarray(0, header), identifier, key, payload).copy(out, header);
    payload.copy(out, header + TAG_SIZE);
    return out;
  }

  override unseal(identifier: string, key: string, bytes: Uint8Array): Uint8Array {
    const context = { wrapperName: 'HmacWrapper', identifier, key };
    const envelope = asBuffer(bytes);
    const { keyId, offset } = readHeader(envelope, MAGIC, [HMAC_SHA256], true, context);
    const start = offset + TAG_SIZE;
    if (envelope.length < start) {
      throw envelopeError(
        'Integrity',
        context,
        'the envelope is cut short inside its tag',
        DAMAGED,
      );
    }
    const secret = this.#keyring.keys.get(keyId!);
    if (secret === undefined) {
      throw envelopeError(
        'Integrity',
        context,
        `it was signed with the key id ${quote(keyId!)}, which this HmacWrapper's keyring does not list (it lists ${[...this.#keyring.keys.keys()].map(quote).join(', ')})`,
        `Add the key ${quote(keyId!)} to the keyring's \`keys\` to read it (keep old keys listed after a rotation), or, if no such key was ever used, the stored bytes were damaged: restore the checkpoint from a backup.`,
      );
    }
    const expected = tag(
      secret,
      envelope.subarray(0, offset),
      identifier,
      key,
      envelope.subarray(start),
    );
    if (!timingSafeEqual(expected, envelope.subarray(offset, start))) {
      throw envelopeError(
        'Integrity',
        context,
        `its HMAC-SHA256 tag does not match (key id ${quote(keyId!)})`,
        `Either the key listed as ${quote(keyId!)} is not the key that wrote it (check the configured key), or the value was changed, or moved here from another key or checkpoint. The value is not returned because it cannot be trusted; restore the checkpoint from a backup if the key is right.`,
      );
    }
    return payloadCopy(envelope, start);
  }
}

function tag(
  secret: KeyObject,
  header: Buffer,
  identifier: string,
  key: string,
  payload: Buffer,
): Buffer {
  return createHmac('sha256', secret)
    .update(DOMAIN)
    .update(header)
    .update(locationBinding(identifier, key))
    .update(payload)
    .digest();
}
