/**
 * The checkpoint seal: what HmacWrapper and EncryptionWrapper write at commit so that a
 * committed checkpoint is authenticated as a whole, not only value by value.
 *
 * Each uncommitted handle of such a wrapper draws a random 16-byte commit id, and every
 * value it writes is a format 2 envelope whose authenticated header carries that id
 * (`envelope.ts`). At commit the wrapper adds one more value under its own reserved key,
 * `@checkpointable.seal.hmac` or `@checkpointable.seal.encryption`, before the inner
 * commit. That value is an ordinary format 2 envelope of the wrapper (so it is MACed or
 * encrypted and bound to the identifier, the seal key and the commit id) whose payload is
 * the manifest below:
 *
 * ```
 * offset  size  field
 * 0       4     magic "CPSL" (0x43 0x50 0x53 0x4C)
 * 4       1     manifest format: 1
 * 5       8     createdAt, milliseconds since 1970-01-01 UTC, u64 big-endian
 * 13      1     T = tag size of the wrapper: 32 (HMAC-SHA256) or 16 (AES-256-GCM)
 * 14      4     N = number of keys, u32 big-endian
 * 18      ...   N entries, keys in ascending JavaScript string order, no duplicates:
 *                 2   L = byte length of the key as UTF-16LE, u16 big-endian (2..510)
 *                 L   the key, UTF-16LE
 *                 T   the tag of the key's value envelope (HMAC tag or GCM tag)
 * ```
 *
 * On load the wrapper reads and verifies the seal, then requires the inner storage to
 * hold exactly the listed keys besides the seal; every read requires a format 2 value
 * with the seal's commit id and the tag the seal lists for its key. So a value dropped,
 * added, moved between keys, taken from another commit of the same identifier, or an
 * earlier value of the same key in the same commit, is `Integrity`. `createdAt` of the
 * committed handle is the sealed one.
 *
 * Each wrapper layer keeps its own seal: to a wrapper further in, an outer wrapper's seal
 * is one more value, sealed like the others, so chains compose.
 */
import { CheckpointError, quote } from '../errors';
import { nameProblem, sortNames } from '../storage/names';
import { SEAL_KEY_PREFIX } from './envelope';

const MAGIC = Buffer.from('CPSL', 'latin1');
const MANIFEST_FORMAT = 1;
const FIXED_SIZE = 18;
/** Dates end at 8.64e15 ms (ECMAScript's limit). */
const MAX_TIME = 8_640_000_000_000_000n;

/**
 * The reserved key of a wrapper's seal.
 * @example
 * ```ts
 * sealKey('hmac'); // '@checkpointable.seal.hmac'
 * ```
 */
export function sealKey(layer: 'hmac' | 'encryption'): string {
  return `${SEAL_KEY_PREFIX}${layer}`;
}

/**
 * What a verified seal says about its commit.
 * @example
 * ```ts
 * const manifest: SealManifest = decodeManifest(payload, 32, context);
 * manifest.tags.get('balance'); // the tag the value under 'balance' must carry
 * ```
 */
export interface SealManifest {
  /** When the commit was made, in milliseconds since 1970 (chosen by the wrapper). */
  readonly createdAt: number;
  /** The keys of the checkpoint, sorted, without the seal. */
  readonly keys: readonly string[];
  /** The tag each key's value envelope carries. */
  readonly tags: ReadonlyMap<string, Buffer>;
}

/**
 * Who reads which seal, for messages.
 * @example
 * ```ts
 * const context: SealContext = { wrapperName: 'HmacWrapper', identifier, sealKey };
 * ```
 */
export interface SealContext {
  /** `HmacWrapper` or `EncryptionWrapper`. */
  wrapperName: string;
  /** The checkpoint identifier. */
  identifier: string;
  /** The wrapper's reserved seal key. */
  sealKey: string;
}

/**
 * The fix we suggest when a checkpoint's parts do not belong together.
 * @example
 * ```ts
 * throw sealError(context, 'the seal lists the key "a", which the storage does not hold', TAMPERED);
 * ```
 */
export const TAMPERED =
  'Values were removed, added or replaced after the commit (for example from an older commit of the same identifier); restore the checkpoint from a backup. Nothing that fails this check is returned, because it cannot be trusted.';

/**
 * The `Integrity` error for a checkpoint whose seal or key set fails a check.
 * @example
 * ```ts
 * throw sealError(context, 'the storage holds the key "x", which the seal does not list', TAMPERED);
 * ```
 */
export function sealError(
  context: SealContext,
  problem: string,
  fix: string,
  key?: string,
): CheckpointError {
  return new CheckpointError(
    'Integrity',
    `Checkpoint ${quote(context.identifier)} failed the ${context.wrapperName} seal check: ${problem}. ${fix}`,
    { identifier: context.identifier, key },
  );
}

/**
 * The manifest bytes for a commit.
 *
 * @param createdAt milliseconds since 1970
 * @param tags every key of the checkpoint (not the seal) with its value's tag
 * @param tagSize the wrapper's tag size; every tag must have it
 * @example
 * ```ts
 * const payload = encodeManifest(Date.now(), new Map([['balance', tag]]), 32);
 * ```
 */
export function encodeManifest(
  createdAt: number,
  tags: ReadonlyMap<string, Buffer>,
  tagSize: number,
): Buffer {
  const keys = sortNames([...tags.keys()]);
  let size = FIXED_SIZE;
  for (const key of keys) size += 2 + key.length * 2 + tagSize;
  const out = Buffer.allocUnsafe(size);
  MAGIC.copy(out, 0);
  out[4] = MANIFEST_FORMAT;
  out.writeBigUInt64BE(BigInt(createdAt), 5);
  out[13] = tagSize;
  out.writeUInt32BE(keys.length, 14);
  let at = FIXED_SIZE;
  for (const key of keys) {
    const tag = tags.get(key)!;
    if (tag.length !== tagSize) throw new Error(`tag of ${key} has ${tag.length} bytes`);
    at = out.writeUInt16BE(key.length * 2, at);
    at += out.write(key, at, 'utf16le');
    at += tag.copy(out, at);
  }
  return out;
}

/**
 * Reads a manifest whose envelope was already verified. It is authenticated, so damage
 * here means a key holder wrote it wrongly; it is still read like hostile bytes: every
 * length is checked against what is left before it is used.
 *
 * @throws {CheckpointError} `Integrity` for a manifest that is cut short, too long,
 *   unsorted, lists a key twice or an invalid key
 * @example
 * ```ts
 * const { createdAt, keys, tags } = decodeManifest(payload, 32, context);
 * ```
 */
export function decodeManifest(
  bytes: Uint8Array,
  tagSize: number,
  context: SealContext,
): SealManifest {
  const manifest = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bad = (problem: string) =>
    sealError(
      context,
      `its seal ${quote(context.sealKey)} ${problem}`,
      'The seal was written by a program that holds the key but does not follow this format; restore the checkpoint from a backup.',
      context.sealKey,
    );
  if (manifest.length < FIXED_SIZE || !MAGIC.equals(manifest.subarray(0, 4))) {
    throw bad('does not hold a manifest');
  }
  if (manifest[4] !== MANIFEST_FORMAT) {
    throw bad(`has manifest format ${manifest[4]}; this version of checkpointable reads 1`);
  }
  const createdAt = manifest.readBigUInt64BE(5);
  if (createdAt > MAX_TIME) throw bad('holds a creation time past the year 275760');
  if (manifest[13] !== tagSize) {
    throw bad(`lists tags of ${manifest[13]} bytes, not ${tagSize}`);
  }
  const count = manifest.readUInt32BE(14);
  // Each entry takes at least 4 + T bytes: refuse a count the bytes cannot hold before
  // anything is allocated for it.
  if (count > (manifest.length - FIXED_SIZE) / (4 + tagSize)) {
    throw bad(`says it lists ${count} keys, more than its ${manifest.length} bytes can hold`);
  }
  const keys: string[] = [];
  const tags = new Map<string, Buffer>();
  let at = FIXED_SIZE;
  for (let i = 0; i < count; i++) {
    if (at + 2 > manifest.length) throw bad('is cut short');
    const length = manifest.readUInt16BE(at);
    at += 2;
    if (length === 0 || length % 2 !== 0 || at + length + tagSize > manifest.length) {
      throw bad(`has a key entry of ${length} bytes that does not fit`);
    }
    const key = manifest.toString('utf16le', at, at + length);
    at += length;
    const problem = nameProblem(key);
    if (problem !== undefined) throw bad(`lists an invalid key (${problem})`);
    if (key === context.sealKey) throw bad('lists itself');
    const previous = keys[keys.length - 1];
    if (previous !== undefined && !(previous < key)) {
      throw bad(`lists ${quote(key)} out of order or twice`);
    }
    keys.push(key);
    tags.set(key, Buffer.from(manifest.subarray(at, at + tagSize)));
    at += tagSize;
  }
  const left = manifest.length - at;
  if (left !== 0) throw bad(`has ${left} byte${left === 1 ? '' : 's'} after its last key`);
  return { createdAt: Number(createdAt), keys, tags };
}
