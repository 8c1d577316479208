import { CheckpointError, quote } from '../errors';
import { MAX_LABEL_LENGTH } from '../storage/checkpoint-summaries';

/**
 * The file FileStorage keeps one committed checkpoint in, format version 1:
 *
 * ```
 * offset  size  field
 * 0       4     magic "CPFS" (0x43 0x50 0x46 0x53)
 * 4       1     format version: 1
 * 5       4     H = byte length of the header, unsigned 32-bit little-endian
 * 9       H     header, UTF-8 JSON:
 *               {"identifier": "order 42", "createdAt": "2026-11-25T11:00:00.000Z",
 *                "keys": [["order", 0, 812], ["customer", 812, 95]], "label": "..."}
 *               each key with the offset (from the end of the header) and length of its
 *               value; "label" is optional (absent when the writer set none, and in packs
 *               written before labels existed), a string of at most 65,536 characters
 * 9+H     ...   the values, back to back, exactly as the storage was given them
 * ```
 *
 * The file's size must be exactly 9 + H + the sum of the lengths: a truncated or extended
 * pack is refused rather than read. The values are the codec's bytes, or a wrapper's
 * envelope around them; their integrity is the wrappers' business.
 */

/** "CPFS": CheckPoint File Storage. */
const MAGIC = Buffer.from('CPFS', 'latin1');
const VERSION = 1;
/** Bytes before the header JSON. */
export const PACK_PREFIX_SIZE = 9;
/** What the first read of a pack asks for: the prefix and, usually, the whole header. */
const FIRST_READ_BYTES = 16 * 1024;
/**
 * The longest header written or read: 64 MiB, room for about a million keys of average
 * length. A length field above it is damage, refused before anything is allocated.
 */
export const MAX_HEADER_BYTES = 64 * 1024 * 1024;

/** What a pack's header says. */
export interface PackHeader {
  readonly identifier: string;
  readonly createdAt: string;
  /** key -> [offset from the end of the header, length] */
  readonly keys: ReadonlyMap<string, readonly [number, number]>;
  /** Where the values start in the file. */
  readonly dataStart: number;
  /** The label its writer set, if any. */
  readonly label?: string;
}

/**
 * A pack file for `values`: the chunks to write, in order (the prefix and header, then each
 * value as it is, with no concatenated copy), and the header a reader would parse from them.
 *
 * @throws {CheckpointError} `Serialize` when the list of keys exceeds {@link MAX_HEADER_BYTES}
 *
 * @example
 * ```ts
 * const { chunks, header } = buildPack('order 42', new Date(), new Map([['order', bytes]]), 'v1');
 * await writeChunks(await createExclusive(path), chunks);
 * ```
 */
export function buildPack(
  identifier: string,
  createdAt: Date,
  values: ReadonlyMap<string, Uint8Array>,
  label?: string,
): { chunks: Uint8Array[]; header: PackHeader } {
  const entries: [string, number, number][] = [];
  const keys = new Map<string, readonly [number, number]>();
  let offset = 0;
  for (const [key, bytes] of values) {
    entries.push([key, offset, bytes.byteLength]);
    keys.set(key, [offset, bytes.byteLength]);
    offset += bytes.byteLength;
  }
  const iso = createdAt.toISOString();
  const fields = label === undefined ? {} : { label };
  const text = Buffer.from(
    JSON.stringify({ identifier, createdAt: iso, keys: entries, ...fields }),
    'utf8',
  );
  if (text.length > MAX_HEADER_BYTES) {
    throw new CheckpointError(
      'Serialize',
      `Checkpoint ${quote(identifier)} has ${keys.size} keys, whose list takes ${text.length} bytes, more than the ${MAX_HEADER_BYTES} a FileStorage checkpoint holds; split it into several checkpoints.`,
      { identifier },
    );
  }
  const prefix = Buffer.alloc(PACK_PREFIX_SIZE);
  MAGIC.copy(prefix, 0);
  prefix[4] = VERSION;
  prefix.writeUInt32LE(text.length, 5);
  return {
    chunks: [prefix, text, ...values.values()],
    header: {
      identifier,
      createdAt: iso,
      keys,
      dataStart: PACK_PREFIX_SIZE + text.length,
      ...fields,
    },
  };
}

/**
 * Reads and checks a pack's header. `readAt(position, length)` reads from the file;
 * `fileSize` is its size.
 *
 * @throws {CheckpointError} `Deserialize` when the file is not a valid pack, naming `path`
 *
 * @example
 * ```ts
 * const header = await readPackHeader(path, size, (at, n) => readExactly(handle, at, n));
 * ```
 */
export async function readPackHeader(
  path: string,
  fileSize: number,
  readAt: (position: number, length: number) => Promise<Buffer>,
): Promise<PackHeader> {
  const bad = (problem: string, cause?: unknown) =>
    new CheckpointError(
      'Deserialize',
      `The checkpoint file ${path} is damaged: ${problem}. Restore it from a backup or remove the checkpoint.`,
      { cause },
    );
  if (fileSize < PACK_PREFIX_SIZE) throw bad('it is shorter than a header');
  // One read usually brings the prefix and the whole header: a pack is summarized and
  // loaded with a single read call.
  const first = await readAt(0, Math.min(fileSize, FIRST_READ_BYTES));
  const prefix = first.subarray(0, PACK_PREFIX_SIZE);
  if (!MAGIC.equals(prefix.subarray(0, 4))) throw bad('it does not start with "CPFS"');
  if (prefix[4] !== VERSION) {
    throw bad(
      `it has format version ${prefix[4]}, which this version of checkpointable does not know`,
    );
  }
  // Both bounds before anything is allocated: a damaged length must not cost memory.
  const headerLength = prefix.readUInt32LE(5);
  const dataStart = PACK_PREFIX_SIZE + headerLength;
  if (dataStart > fileSize) throw bad('its header runs past the end of the file');
  if (headerLength > MAX_HEADER_BYTES) {
    throw bad(`its header length ${headerLength} exceeds the limit of ${MAX_HEADER_BYTES} bytes`);
  }
  const headerBytes =
    dataStart <= first.length
      ? first.subarray(PACK_PREFIX_SIZE, dataStart)
      : await readAt(PACK_PREFIX_SIZE, headerLength);
  let parsed: { identifier?: unknown; createdAt?: unknown; keys?: unknown; label?: unknown };
  try {
    parsed = JSON.parse(headerBytes.toString('utf8')) as typeof parsed;
  } catch (error) {
    throw bad('its header is not valid JSON', error);
  }
  const { identifier, createdAt, keys, label } = parsed ?? {};
  if (typeof identifier !== 'string' || typeof createdAt !== 'string' || !Array.isArray(keys)) {
    throw bad('its header lacks the identifier, the creation time or the keys');
  }
  if (Number.isNaN(Date.parse(createdAt))) {
    throw bad(`its header's creation time ${quote(createdAt.slice(0, 40))} is not a date`);
  }
  if (label !== undefined && (typeof label !== 'string' || label.length > MAX_LABEL_LENGTH)) {
    throw bad(
      typeof label === 'string'
        ? `its label is ${label.length} characters long, more than the ${MAX_LABEL_LENGTH} a label holds`
        : `its label is ${label === null ? 'null' : typeof label}, not a string`,
    );
  }
  const index = new Map<string, readonly [number, number]>();
  let end = 0;
  for (const entry of keys as unknown[]) {
    const [key, offset, length] = Array.isArray(entry) ? (entry as unknown[]) : [];
    if (
      typeof key !== 'string' ||
      offset !== end ||
      typeof length !== 'number' ||
      !Number.isSafeInteger(length) ||
      length < 0 ||
      index.has(key)
    ) {
      throw bad(`its entry for key ${typeof key === 'string' ? quote(key) : '?'} is malformed`);
    }
    index.set(key, [offset, length]);
    end += length;
    if (dataStart + end > fileSize) {
      throw bad(`its entry for key ${quote(key)} runs past the end of the file`);
    }
  }
  if (dataStart + end !== fileSize) {
    throw bad(`it holds ${fileSize - dataStart} bytes of values where its header lists ${end}`);
  }
  return {
    identifier,
    createdAt,
    keys: index,
    dataStart,
    ...(label === undefined ? {} : { label }),
  };
}
