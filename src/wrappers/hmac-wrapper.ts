/**
 * HmacWrapper: proves that a stored value was written by someone holding the key, for
 * this checkpoint, this key and this commit, and not changed since; and, through the
 * checkpoint seal (`checkpoint-seal.ts`), that a committed checkpoint holds exactly the
 * values of one commit.
 *
 * Envelope, format version 2 (common header in `envelope.ts`):
 *
 * ```
 * offset  size  field
 * 0       4     magic "CPHM" (0x43 0x50 0x48 0x4D)
 * 4       1     format version: 2
 * 5       1     algorithm id: 1 = HMAC-SHA256
 * 6       1     K = key id length in bytes (1..255)
 * 7       K     key id, UTF-8 ("default" for a bare key)
 * 7+K     16    commit id
 * 23+K    32    tag
 * 55+K    N     payload: the bytes the wrapper above (or the codec) gave
 *
 * tag = HMAC-SHA256(key, "checkpointable/hmac/v2\0"
 *                        || bytes 0..22+K (the header: key id and commit id included)
 *                        || u32be(len) || identifier as UTF-16LE
 *                        || u32be(len) || key as UTF-16LE
 *                        || payload)
 * ```
 *
 * Format version 1, written before checkpoints were sealed, is still read: it has no
 * commit id (the tag follows the key id at 7+K, the payload at 39+K) and its domain
 * string is "checkpointable/hmac/v1\0". It is accepted only in a checkpoint without a
 * seal, and a checkpoint without a seal is accepted only if none of its values is
 * format 2.
 *
 * Binding the identifier and key means a value copied to another key or another
 * checkpoint fails; binding the header means the key id, the algorithm and the commit id
 * cannot be swapped. The tag is compared with `timingSafeEqual`. The key is used as the
 * HMAC key as given (HMAC accepts any length); the domain string keeps these tags apart
 * from anything else the same key might sign.
 *
 * Rotation: values are signed with the keyring's active key and verified with the key
 * their envelope names, so old checkpoints stay readable while their key stays listed.
 */
import { createHmac, timingSafeEqual, type KeyObject } from 'node:crypto';
import { quote } from '../errors';
import type { Storage } from '../storage/storage';
import { sealKey } from './checkpoint-seal';
import {
  asBuffer,
  domainStrings,
  DAMAGED,
  envelopeError,
  headerSize,
  KEYED_VERSIONS,
  locationBinding,
  payloadCopy,
  readHeader,
  SEALED_ENVELOPE_VERSION,
  unlistedKeyError,
  writeHeader,
  wrongKeyOrChanged,
} from './envelope';
import { resolveKeyring, type KeyInput, type Keyring, type ResolvedKeyring } from './keyring';
import { SealingWrapper, type OpenedValue, type SealedValue } from './sealing-wrapper';

const MAGIC = Buffer.from('CPHM', 'latin1');
const HMAC_SHA256 = 1;
const TAG_SIZE = 32;
const DOMAINS = domainStrings('hmac');

/**
 * Signs every value with HMAC-SHA256 over the checkpoint identifier, the key, the commit
 * and the value, and each commit's set of keys and `createdAt` in a seal; verifies them
 * on load and on every read: a changed, dropped, added or moved value, a value from
 * another commit of the same identifier, or a wrong key is a `CheckpointError` of kind
 * `Integrity`. The key `@checkpointable.seal.hmac` is reserved. Values stay readable in
 * the clear; combine with {@link EncryptionWrapper} to hide them.
 *
 * @example
 * ```ts
 * const storage = GuardWrapper.wrap(
 *   HmacWrapper.wrap(await FileStorage.openRaw('./data'), process.env.CHECKPOINT_KEY!),
 * );
 * ```
 */
export class HmacWrapper extends SealingWrapper {
  protected readonly storageName = 'HmacWrapper';
  readonly #keyring: ResolvedKeyring;

  private constructor(inner: Storage, keyring: ResolvedKeyring) {
    super(inner, {
      wrapperName: 'HmacWrapper',
      magic: MAGIC,
      sealKey: sealKey('hmac'),
      tagSize: TAG_SIZE,
    });
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

  /** @internal */
  sealValue(identifier: string, key: string, bytes: Uint8Array, commitId: Buffer): SealedValue {
    const payload = asBuffer(bytes);
    const keyId = this.#keyring.activeIdBytes;
    const header = headerSize(keyId.length, true);
    const out = Buffer.allocUnsafe(header + TAG_SIZE + payload.length);
    writeHeader(out, MAGIC, HMAC_SHA256, keyId, commitId);
    const secret = this.#keyring.keys.get(this.#keyring.activeId)!;
    const mac = tag(
      secret,
      SEALED_ENVELOPE_VERSION,
      out.subarray(0, header),
      identifier,
      key,
      payload,
    );
    mac.copy(out, header);
    payload.copy(out, header + TAG_SIZE);
    return { envelope: out, tag: mac };
  }

  /** @internal */
  openValue(identifier: string, key: string, bytes: Uint8Array): OpenedValue {
    const context = { wrapperName: 'HmacWrapper', identifier, key };
    const envelope = asBuffer(bytes);
    const { version, keyId, commitId, offset } = readHeader(
      envelope,
      MAGIC,
      [HMAC_SHA256],
      true,
      context,
      KEYED_VERSIONS,
    );
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
      throw unlistedKeyError(context, 'signed', keyId!, this.#keyring.keys.keys());
    }
    const expected = tag(
      secret,
      version,
      envelope.subarray(0, offset),
      identifier,
      key,
      envelope.subarray(start),
    );
    const stored = envelope.subarray(offset, start);
    if (!timingSafeEqual(expected, stored)) {
      throw envelopeError(
        'Integrity',
        context,
        `its HMAC-SHA256 tag does not match (key id ${quote(keyId!)})`,
        wrongKeyOrChanged(keyId!),
      );
    }
    return { version, commitId, tag: stored, payload: payloadCopy(envelope, start) };
  }
}

function tag(
  secret: KeyObject,
  version: number,
  header: Buffer,
  identifier: string,
  key: string,
  payload: Buffer,
): Buffer {
  return createHmac('sha256', secret)
    .update(DOMAINS[version])
    .update(header)
    .update(locationBinding(identifier, key))
    .update(payload)
    .digest();
}
