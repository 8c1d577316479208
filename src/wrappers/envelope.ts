/**
 * The envelope header the byte-changing wrappers share, and the errors they raise when
 * an envelope cannot be read. Every envelope starts the same way:
 *
 * ```
 * offset  size  field
 * 0       4     magic, one per wrapper: "CPCK" checksum, "CPHM" HMAC, "CPEN" encryption
 * 4       1     format version: 1, or 2 for HMAC and encryption values that belong to a
 *               sealed checkpoint
 * 5       1     algorithm id (per wrapper)
 * 6       1     keyed wrappers only: K = key id length in bytes (1..255)
 * 7       K     keyed wrappers only: the key id, UTF-8
 * 7+K     16    format 2 only: the commit id, random per uncommitted checkpoint
 * ```
 *
 * followed by the wrapper's own fields (see each wrapper's header comment). Readers check
 * the magic, the version and the algorithm id and refuse anything they do not know, so a
 * value written without a wrapper, through another wrapper or in another order fails with
 * a {@link CheckpointError} instead of being misread. Distinct magics per wrapper are what
 * make a different wrapper order detectable at the first layer that unseals.
 *
 * Keyed wrappers bind each value to where it belongs: the MAC input (HMAC) and the
 * additional authenticated data (AES-GCM) include the whole header (so, in format 2, the
 * commit id) and {@link locationBinding}, the checkpoint identifier and the key. Those are
 * encoded as UTF-16 code units, exactly as JavaScript holds them, so that the binding never
 * depends on a text encoding (format 1 data, written when the grammar still allowed lone
 * surrogates, binds them the same way). How the commit id ties values to one commit is in
 * `checkpoint-seal.ts`.
 */
import { CheckpointError, quote, type CheckpointErrorKind } from '../errors';

/**
 * The format version of envelopes without a commit id: every ChecksumWrapper value, and
 * HMAC and encryption values written before checkpoints were sealed.
 * @example
 * ```ts
 * if (bytes[4] === ENVELOPE_VERSION) console.log('no commit id in this envelope');
 * ```
 */
export const ENVELOPE_VERSION = 1;

/**
 * The format version of HMAC and encryption envelopes that carry a commit id.
 * @example
 * ```ts
 * const sealed = header.version === SEALED_ENVELOPE_VERSION;
 * ```
 */
export const SEALED_ENVELOPE_VERSION = 2;

/**
 * The size of a commit id in bytes.
 * @example
 * ```ts
 * const commitId = randomBytes(COMMIT_ID_SIZE);
 * ```
 */
export const COMMIT_ID_SIZE = 16;

/**
 * Bytes before a keyed wrapper's key id, or before an unkeyed wrapper's own fields.
 * @example
 * ```ts
 * const digestAt = BASE_HEADER_SIZE; // ChecksumWrapper
 * ```
 */
export const BASE_HEADER_SIZE = 6;

/**
 * What {@link readHeader} found.
 * @example
 * ```ts
 * const { algorithm, keyId, offset }: EnvelopeHeader = readHeader(...);
 * ```
 */
export interface EnvelopeHeader {
  /** The format version byte. */
  version: number;
  /** The algorithm id byte. */
  algorithm: number;
  /** The key id, for keyed wrappers. */
  keyId?: string;
  /** The commit id, in format 2 envelopes (a view into the envelope, not a copy). */
  commitId?: Buffer;
  /** Where the wrapper's own fields start. */
  offset: number;
}

/**
 * Who is reading what, for messages.
 * @example
 * ```ts
 * const context: EnvelopeContext = { wrapperName: 'HmacWrapper', identifier, key };
 * ```
 */
export interface EnvelopeContext {
  /** `ChecksumWrapper`, `HmacWrapper`, `EncryptionWrapper`. */
  wrapperName: string;
  /** The checkpoint identifier. */
  identifier: string;
  /** The key inside the checkpoint. */
  key: string;
}

/**
 * Where the keys of checkpoint seals start (see `checkpoint-seal.ts`); a value under such
 * a key is named "the seal" in messages.
 * @example
 * ```ts
 * const sealKey = `${SEAL_KEY_PREFIX}hmac`;
 * ```
 */
export const SEAL_KEY_PREFIX = '@checkpointable.seal.';

/** The fix we suggest when the bytes are not this wrapper's envelope. */
const WRONG_CHAIN =
  'It was written without this wrapper, through a different wrapper order, or by another program; read it through the same wrapper chain that wrote it.';

/**
 * The fix we suggest when the bytes are this wrapper's envelope but damaged.
 * @example
 * ```ts
 * throw envelopeError('Integrity', context, 'the envelope is cut short', DAMAGED);
 * ```
 */
export const DAMAGED =
  'The stored bytes were damaged or changed after they were written; restore the checkpoint from a backup or write it again. The value is not returned because it cannot be trusted.';

/**
 * The error a wrapper raises for a value it cannot unseal. The message names the value,
 * the checkpoint, the wrapper and the fix; it never contains key material.
 *
 * @example
 * ```ts
 * throw envelopeError('Integrity', ctx, 'its SHA-256 checksum does not match', DAMAGED);
 * ```
 */
export function envelopeError(
  kind: CheckpointErrorKind,
  context: EnvelopeContext,
  problem: string,
  fix: string,
  cause?: unknown,
): CheckpointError {
  const { wrapperName, identifier, key } = context;
  const what = key.startsWith(SEAL_KEY_PREFIX) ? 'The seal' : 'Value';
  return new CheckpointError(
    kind,
    `${what} ${quote(key)} of checkpoint ${quote(identifier)} failed the ${wrapperName} check: ${problem}. ${fix}`,
    { identifier, key, cause },
  );
}

/**
 * Writes the common header into the front of `target` and returns the offset after it:
 * format 1, or format 2 when a `commitId` is given (keyed wrappers only).
 *
 * @example
 * ```ts
 * const at = writeHeader(out, MAGIC, 1, keyIdBytes, commitId);
 * ```
 */
export function writeHeader(
  target: Buffer,
  magic: Buffer,
  algorithm: number,
  keyId?: Buffer,
  commitId?: Buffer,
): number {
  magic.copy(target, 0);
  target[4] = commitId === undefined ? ENVELOPE_VERSION : SEALED_ENVELOPE_VERSION;
  target[5] = algorithm;
  if (keyId === undefined) return BASE_HEADER_SIZE;
  target[6] = keyId.length;
  keyId.copy(target, 7);
  if (commitId === undefined) return 7 + keyId.length;
  commitId.copy(target, 7 + keyId.length);
  return 7 + keyId.length + COMMIT_ID_SIZE;
}

/**
 * The header size for a key id of `keyIdLength` bytes (or an unkeyed wrapper), with a
 * commit id when `sealed`.
 * @example
 * ```ts
 * headerSize(); // 6
 * headerSize(7); // 14, for the key id "default"
 * headerSize(7, true); // 30, format 2
 * ```
 */
export function headerSize(keyIdLength?: number, sealed = false): number {
  if (keyIdLength === undefined) return BASE_HEADER_SIZE;
  return 7 + keyIdLength + (sealed ? COMMIT_ID_SIZE : 0);
}

/**
 * Reads and checks the common header: the magic must be this wrapper's, the version
 * one of `versions`, the algorithm id one of `algorithms`, and a keyed header complete
 * (with its commit id in format 2).
 *
 * @throws {CheckpointError} `Integrity` when the bytes are not this wrapper's envelope or
 *   are cut short; `Deserialize` for a format version or algorithm this code does not know
 *
 * @example
 * ```ts
 * const { version, keyId, commitId, offset } = readHeader(bytes, MAGIC, [1], true, ctx, [1, 2]);
 * ```
 */
export function readHeader(
  bytes: Buffer,
  magic: Buffer,
  algorithms: readonly number[],
  keyed: boolean,
  context: EnvelopeContext,
  versions: readonly number[] = [ENVELOPE_VERSION],
): EnvelopeHeader {
  if (bytes.length < 4 || !magic.equals(bytes.subarray(0, 4))) {
    const seen =
      bytes.length < 4
        ? `it is only ${bytes.length} byte${bytes.length === 1 ? '' : 's'} long`
        : `it does not start with the ${context.wrapperName} magic "${magic.toString('latin1')}"${describeMagic(bytes)}`;
    throw envelopeError(
      'Integrity',
      context,
      `the stored bytes are not its envelope (${seen})`,
      WRONG_CHAIN,
    );
  }
  if (bytes.length < BASE_HEADER_SIZE + (keyed ? 1 : 0)) {
    throw envelopeError(
      'Integrity',
      context,
      'the envelope is cut short inside its header',
      DAMAGED,
    );
  }
  const version = bytes[4];
  if (!versions.includes(version)) {
    throw envelopeError(
      'Deserialize',
      context,
      `the envelope has format version ${version}, and this version of checkpointable reads only ${versions.length === 1 ? 'version' : 'versions'} ${versions.join(' and ')}`,
      'If a newer checkpointable wrote it, upgrade to read it; otherwise the stored bytes were damaged: restore the checkpoint from a backup.',
    );
  }
  const algorithm = bytes[5];
  if (!algorithms.includes(algorithm)) {
    throw envelopeError(
      'Deserialize',
      context,
      `the envelope names algorithm id ${algorithm}, which this version of checkpointable does not know (it knows ${algorithms.join(', ')})`,
      'If a newer checkpointable wrote it, upgrade to read it; otherwise the stored bytes were damaged: restore the checkpoint from a backup.',
    );
  }
  if (!keyed) return { version, algorithm, offset: BASE_HEADER_SIZE };
  const keyIdLength = bytes[6];
  if (keyIdLength === 0 || bytes.length < 7 + keyIdLength) {
    throw envelopeError(
      'Integrity',
      context,
      keyIdLength === 0
        ? 'the envelope has an empty key id'
        : 'the envelope is cut short inside its key id',
      DAMAGED,
    );
  }
  const keyId = bytes.toString('utf8', 7, 7 + keyIdLength);
  const end = 7 + keyIdLength;
  if (version === ENVELOPE_VERSION) return { version, algorithm, keyId, offset: end };
  if (bytes.length < end + COMMIT_ID_SIZE) {
    throw envelopeError(
      'Integrity',
      context,
      'the envelope is cut short inside its commit id',
      DAMAGED,
    );
  }
  const commitId = bytes.subarray(end, end + COMMIT_ID_SIZE);
  return { version, algorithm, keyId, commitId, offset: end + COMMIT_ID_SIZE };
}

/** Names the wrapper whose magic `bytes` start with, to make a wrong order obvious. */
function describeMagic(bytes: Buffer): string {
  const head = bytes.toString('latin1', 0, 4);
  const known: Record<string, string> = {
    CPCK: 'ChecksumWrapper',
    CPHM: 'HmacWrapper',
    CPEN: 'EncryptionWrapper',
  };
  if (known[head] !== undefined) return `; it is the envelope of ${known[head]}`;
  if (head.startsWith('CPV')) return '; it is a bare codec value, written without this wrapper';
  return '';
}

/**
 * The checkpoint identifier and key, length-prefixed, as bound into MACs and AAD: u32
 * big-endian byte length, then the UTF-16LE code units, for each of the two.
 *
 * @example
 * ```ts
 * hmac.update(locationBinding('order-42', 'order'));
 * ```
 */
export function locationBinding(identifier: string, key: string): Buffer {
  const id = Buffer.from(identifier, 'utf16le');
  const k = Buffer.from(key, 'utf16le');
  const out = Buffer.allocUnsafe(8 + id.length + k.length);
  out.writeUInt32BE(id.length, 0);
  id.copy(out, 4);
  out.writeUInt32BE(k.length, 4 + id.length);
  k.copy(out, 8 + id.length);
  return out;
}

/**
 * `bytes` as a Buffer over the same memory (no copy).
 * @example
 * ```ts
 * asBuffer(new Uint8Array([1, 2])).readUInt16BE(0); // 258
 * ```
 */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * A fresh `Uint8Array` copy of part of an envelope, so callers never see the envelope.
 * @example
 * ```ts
 * return payloadCopy(envelope, start); // the payload after the header and digest
 * ```
 */
export function payloadCopy(bytes: Buffer, start: number, end = bytes.length): Uint8Array {
  const out = new Uint8Array(end - start);
  out.set(bytes.subarray(start, end));
  return out;
}

/**
 * The `Integrity` error for an envelope that names a key id the keyring does not list.
 * `done` says what the key did (`encrypted`, `signed`).
 *
 * @example
 * ```ts
 * throw unlistedKeyError(context, 'signed', keyId, ring.keys.keys());
 * ```
 */
export function unlistedKeyError(
  context: EnvelopeContext,
  done: string,
  keyId: string,
  listed: Iterable<string>,
): CheckpointError {
  return envelopeError(
    'Integrity',
    context,
    `it was ${done} with the key id ${quote(keyId)}, which this ${context.wrapperName}'s keyring does not list (it lists ${[...listed].map(quote).join(', ')})`,
    `Add the key ${quote(keyId)} to the keyring's \`keys\` to read it (keep old keys listed after a rotation), or, if no such key was ever used, the stored bytes were damaged: restore the checkpoint from a backup.`,
  );
}

/**
 * The fix of an envelope whose tag does not verify under the key its envelope names.
 *
 * @example
 * ```ts
 * throw envelopeError('Integrity', context, `its tag does not match (key id ${quote(id)})`, wrongKeyOrChanged(id));
 * ```
 */
export function wrongKeyOrChanged(keyId: string): string {
  return `Either the key listed as ${quote(keyId)} is not the key that wrote it (check the configured key), or the value was changed, or moved here from another key or checkpoint. The value is not returned because it cannot be trusted; restore the checkpoint from a backup if the key is right.`;
}

/** The envelope versions a keyed wrapper reads: without a seal, and sealed. */
export const KEYED_VERSIONS: readonly number[] = [ENVELOPE_VERSION, SEALED_ENVELOPE_VERSION];

/**
 * Per envelope version, the domain string a keyed wrapper puts first in what its key
 * authenticates (`checkpointable/<purpose>/v1\0`, `.../v2\0`), so that its tags never
 * verify as anything else the same key signs.
 *
 * @example
 * ```ts
 * const DOMAINS = domainStrings('hmac'); // DOMAINS[2] is 'checkpointable/hmac/v2\0'
 * ```
 */
export function domainStrings(purpose: string): Record<number, Buffer> {
  return {
    [ENVELOPE_VERSION]: Buffer.from(`checkpointable/${purpose}/v1\0`, 'latin1'),
    [SEALED_ENVELOPE_VERSION]: Buffer.from(`checkpointable/${purpose}/v2\0`, 'latin1'),
  };
}
