/**
 * The portable archive `checkpointable export` writes and `import` reads: one file holding
 * checkpoints with their identifiers, creation times and values, independent of the
 * storage and the wrapper chain they came from.
 *
 * Format version 1. All integers little-endian.
 *
 * ```
 * offset  size  field
 * 0       4     magic "CPAR" (0x43 0x50 0x41 0x52)
 * 4       1     format version: 1
 * 5       3     zero
 * 8       ...   records, one after another, until the end record
 *
 * A record:
 * 0       1     type: 'H' 0x48 header, 'C' 0x43 checkpoint, 'V' 0x56 value,
 *                     'E' 0x45 end of checkpoint, 'Z' 0x5A end of archive
 * 1       2     N = name length in bytes (0..1020)
 * 3       N     name, UTF-8: the identifier for C and E, the key for V, empty for H and Z
 * 3+N     8     P = payload length in bytes (u64)
 * 11+N    P     payload
 * 11+N+P  32    SHA-256 of bytes 0 .. 11+N+P of this record (type, N, name, P, payload)
 * ```
 *
 * Records come in this order: one `H`, then for each checkpoint one `C`, its `V` records
 * and one `E`, then one `Z`, and nothing after it.
 *
 * - `H` payload: UTF-8 JSON `{"tool": "checkpointable", "exportedAt": "<ISO time>",
 *   "values": "unwrapped"}`: values are stored as the exporting wrapper chain
 *   returned them (verified, decrypted: the codec's bytes), so that any chain can wrap
 *   them again on import.
 * - `C` payload: UTF-8 JSON `{"createdAt": "<ISO time>", "values": <number of V records>}`;
 *   `createdAt` is when the checkpoint was first committed.
 * - `V` payload: the value's bytes (for values written with put(), codec data starting "CPV").
 * - `E` payload: empty; its name repeats the identifier of the `C` it closes.
 * - `Z` payload: UTF-8 JSON `{"checkpoints": <number of C records>}`.
 *
 * A reader checks every record's digest before using it, the order above, the names (the
 * identifier and key grammar), the counts, and every length against what the file still
 * holds, so a damaged or truncated archive is an error, never a partial or wrong import.
 * A later format takes a new version number; readers refuse versions they do not know.
 * Values are written and read one at a time: memory holds one value, never the archive.
 */
import { createHash } from 'node:crypto';
import { constants as bufferConstants } from 'node:buffer';
import { promises as fs } from 'node:fs';
import { CheckpointError, quote } from '../errors';
import { assertValidName } from '../storage/names';

/**
 * "CPAR": CheckPoint ARchive.
 * @example
 * ```ts
 * const isArchive = head.subarray(0, 4).equals(ARCHIVE_MAGIC);
 * ```
 */
export const ARCHIVE_MAGIC = Buffer.from('CPAR', 'latin1');
/**
 * The format version this code writes and reads.
 * @example
 * ```ts
 * if (head[4] !== ARCHIVE_VERSION) throw new Error("unknown archive version");
 * ```
 */
export const ARCHIVE_VERSION = 1;
const PREFIX_SIZE = 8;
const DIGEST_SIZE = 32;
/** 255 characters of at most 4 UTF-8 bytes each. */
const MAX_NAME_BYTES = 1020;
/** JSON payloads (H, C, Z) are small; a larger one is damage, not data. */
const MAX_META_BYTES = 64 * 1024;
/** Hashing a payload without keeping it reads it in pieces of this size. */
const CHUNK = 1024 * 1024;

/**
 * The record types, by their byte.
 * @example
 * ```ts
 * if (bytes[at] === RecordType.Value) readValue(at);
 * ```
 */
export const RecordType = {
  Header: 0x48,
  Checkpoint: 0x43,
  Value: 0x56,
  End: 0x45,
  ArchiveEnd: 0x5a,
} as const;

/**
 * Writes an archive record by record. The caller writes to a temporary name and renames
 * it when done (see `export`), so a crash never leaves a file that looks complete.
 *
 * @example
 * ```ts
 * const writer = await ArchiveWriter.create('/backups/orders.cpar.partial');
 * await writer.header(new Date());
 * await writer.checkpoint('order-42', createdAt, 1);
 * await writer.value('order', bytes);
 * await writer.end('order-42');
 * await writer.finish(1);
 * ```
 */
export class ArchiveWriter {
  private constructor(private readonly handle: fs.FileHandle) {}

  /**
   * Creates the file (refusing to replace one) and writes the prefix.
   * @throws {CheckpointError} `Io` when the file cannot be created
   */
  static async create(path: string): Promise<ArchiveWriter> {
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(path, 'wx', 0o600);
    } catch (error) {
      throw ioError('create', path, error);
    }
    const writer = new ArchiveWriter(handle);
    const prefix = Buffer.alloc(PREFIX_SIZE);
    ARCHIVE_MAGIC.copy(prefix, 0);
    prefix[4] = ARCHIVE_VERSION;
    await writer.raw(prefix);
    return writer;
  }

  /** The `H` record. */
  header(exportedAt: Date): Promise<void> {
    const meta = {
      tool: 'checkpointable',
      exportedAt: exportedAt.toISOString(),
      values: 'unwrapped',
    };
    return this.record(RecordType.Header, '', json(meta));
  }

  /** The `C` record opening a checkpoint of `values` values. */
  checkpoint(identifier: string, createdAt: Date, values: number): Promise<void> {
    return this.record(
      RecordType.Checkpoint,
      identifier,
      json({ createdAt: createdAt.toISOString(), values }),
    );
  }

  /** A `V` record: one value's bytes, written as they are (no copy). */
  value(key: string, bytes: Uint8Array): Promise<void> {
    return this.record(RecordType.Value, key, bytes);
  }

  /** The `E` record closing the checkpoint `identifier`. */
  end(identifier: string): Promise<void> {
    return this.record(RecordType.End, identifier, Buffer.alloc(0));
  }

  /** The `Z` record, then flushes the file to the disk and closes it. */
  async finish(checkpoints: number): Promise<void> {
    await this.record(RecordType.ArchiveEnd, '', json({ checkpoints }));
    await this.handle.sync();
    await this.handle.close();
  }

  /** Closes the file without finishing it (after a failure). */
  async abandon(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }

  private async record(type: number, name: string, payload: Uint8Array): Promise<void> {
    const nameBytes = Buffer.from(name, 'utf8');
    const head = Buffer.alloc(3 + nameBytes.length + 8);
    head[0] = type;
    head.writeUInt16LE(nameBytes.length, 1);
    nameBytes.copy(head, 3);
    head.writeBigUInt64LE(BigInt(payload.byteLength), 3 + nameBytes.length);
    const digest = createHash('sha256').update(head).update(payload).digest();
    await this.raw(head);
    await this.raw(payload);
    await this.raw(digest);
  }

  private async raw(bytes: Uint8Array): Promise<void> {
    let done = 0;
    while (done < bytes.byteLength) {
      const { bytesWritten } = await this.handle.write(bytes, done, bytes.byteLength - done);
      done += bytesWritten;
    }
  }
}

/**
 * One record read back. `payload` is undefined when the reader was asked only to check
 * the record (its digest was still verified, reading the payload in pieces).
 *
 * @example
 * ```ts
 * const record: ArchiveRecord = { type: RecordType.End, name: 'a', payloadLength: 0, payload: undefined, offset: 8 };
 * ```
 */
export interface ArchiveRecord {
  readonly type: number;
  readonly name: string;
  readonly payloadLength: number;
  readonly payload: Buffer | undefined;
  /** Byte offset of the record in the file, for messages. */
  readonly offset: number;
}

/**
 * A checkpoint as an archive describes it, before its values.
 * @example
 * ```ts
 * const entry: ArchiveCheckpoint = { identifier: 'order-42', createdAt: new Date(), values: 2 };
 * ```
 */
export interface ArchiveCheckpoint {
  readonly identifier: string;
  readonly createdAt: Date;
  readonly values: number;
}

/**
 * What a reader calls while it walks an archive; `value` gets the bytes when the walk
 * reads values (`import`) or the value is small (at most 64 KiB), and `undefined` for a
 * larger value when the walk only checks them (`--list`, the first pass of `import`).
 *
 * @example
 * ```ts
 * const visitor: ArchiveVisitor = { checkpoint: ({ identifier }) => console.log(identifier) };
 * ```
 */
export interface ArchiveVisitor {
  checkpoint?(entry: ArchiveCheckpoint): Promise<void> | void;
  value?(identifier: string, key: string, bytes: Buffer | undefined): Promise<void> | void;
  end?(entry: ArchiveCheckpoint): Promise<void> | void;
}

/**
 * Walks an archive from start to end, checking every record, and calls `visitor` for
 * each checkpoint and value in order. With `readValues` false, values are hashed in
 * pieces and never held whole: a full check of a large archive needs little memory.
 *
 * @returns the number of checkpoints and the exporting time from the header
 * @throws {CheckpointError} `Integrity` for a record whose digest does not match or a
 *   truncated file; `Deserialize` for a file that is not an archive or breaks the format;
 *   `Version` for a format version this code does not know; `Io` when reading fails
 *
 * @example
 * ```ts
 * const { checkpoints } = await readArchive('/backups/orders.cpar', false, {
 *   checkpoint: ({ identifier }) => console.log(identifier),
 * });
 * ```
 */
export async function readArchive(
  path: string,
  readValues: boolean,
  visitor: ArchiveVisitor,
): Promise<{ checkpoints: number; exportedAt: Date }> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(path, 'r');
  } catch (error) {
    throw ioError('open', path, error);
  }
  try {
    const size = (await handle.stat()).size;
    return await new ArchiveReader(handle, path, size).walk(readValues, visitor);
  } finally {
    await handle.close();
  }
}

class ArchiveReader {
  private position = 0;

  constructor(
    private readonly handle: fs.FileHandle,
    private readonly path: string,
    private readonly size: number,
  ) {}

  async walk(
    readValues: boolean,
    visitor: ArchiveVisitor,
  ): Promise<{ checkpoints: number; exportedAt: Date }> {
    const prefix = await this.read(PREFIX_SIZE, 'the archive prefix');
    if (!prefix.subarray(0, 4).equals(ARCHIVE_MAGIC)) {
      throw this.malformed(
        0,
        'does not start with "CPAR"; it is not a checkpointable archive (or not the file you meant)',
      );
    }
    if (prefix[4] !== ARCHIVE_VERSION) {
      throw new CheckpointError(
        'Version',
        `The archive ${quote(this.path)} has format version ${prefix[4]}; this version of checkpointable reads version ${ARCHIVE_VERSION}. Import it with the checkpointable version that exported it, or a newer one.`,
      );
    }
    const header = await this.record(false);
    if (header.type !== RecordType.Header) throw this.unexpected(header, 'the header (H)');
    const meta = this.json(header) as { exportedAt?: unknown; values?: unknown };
    if (meta.values !== 'unwrapped') {
      throw this.malformed(
        header.offset,
        'has a header that does not say its values are unwrapped',
      );
    }
    const exportedAt = this.date(meta.exportedAt, header.offset);
    const identifiers = new Set<string>();
    for (;;) {
      const opening = await this.record(false);
      if (opening.type === RecordType.ArchiveEnd) {
        const { checkpoints } = this.json(opening) as { checkpoints?: unknown };
        if (checkpoints !== identifiers.size) {
          throw this.malformed(
            opening.offset,
            `ends saying it holds ${String(checkpoints)} checkpoints, but holds ${identifiers.size}`,
          );
        }
        if (this.position !== this.size) {
          throw this.malformed(this.position, 'has bytes after its end record');
        }
        return { checkpoints: identifiers.size, exportedAt };
      }
      if (opening.type !== RecordType.Checkpoint) {
        throw this.unexpected(opening, 'a checkpoint (C) or the end (Z)');
      }
      const identifier = this.name(opening, 'identifier');
      if (identifiers.has(identifier)) {
        throw this.malformed(opening.offset, `holds checkpoint ${quote(identifier)} twice`);
      }
      identifiers.add(identifier);
      const meta = this.json(opening) as { createdAt?: unknown; values?: unknown };
      const values = meta.values;
      if (typeof values !== 'number' || !Number.isSafeInteger(values) || values < 0) {
        throw this.malformed(
          opening.offset,
          `gives checkpoint ${quote(identifier)} no value count`,
        );
      }
      const entry: ArchiveCheckpoint = {
        identifier,
        createdAt: this.date(meta.createdAt, opening.offset),
        values,
      };
      await visitor.checkpoint?.(entry);
      const keys = new Set<string>();
      for (let i = 0; i < values; i++) {
        const value = await this.record(readValues);
        if (value.type !== RecordType.Value) throw this.unexpected(value, 'a value (V)');
        const key = this.name(value, 'key', identifier);
        if (keys.has(key)) {
          throw this.malformed(
            value.offset,
            `holds key ${quote(key)} of ${quote(identifier)} twice`,
          );
        }
        keys.add(key);
        await visitor.value?.(identifier, key, value.payload);
      }
      const closing = await this.record(false);
      if (closing.type !== RecordType.End || closing.name !== identifier) {
        throw this.unexpected(closing, `the end (E) of checkpoint ${quote(identifier)}`);
      }
      if (closing.payloadLength !== 0) {
        throw this.malformed(closing.offset, 'has an end record with a payload');
      }
      await visitor.end?.(entry);
    }
  }

  /** Reads one record and checks its digest; the payload is kept when `keep` or small. */
  private async record(keep: boolean): Promise<ArchiveRecord> {
    const offset = this.position;
    const start = await this.read(3, 'a record');
    const type = start[0];
    const nameLength = start.readUInt16LE(1);
    if (!Object.values(RecordType).includes(type as never)) {
      throw this.malformed(offset, `has a record of unknown type 0x${type.toString(16)}`);
    }
    if (nameLength > MAX_NAME_BYTES) {
      throw this.malformed(
        offset,
        `has a record name of ${nameLength} bytes (at most ${MAX_NAME_BYTES})`,
      );
    }
    const nameAndLength = await this.read(nameLength + 8, 'a record');
    const payloadLength = nameAndLength.readBigUInt64LE(nameLength);
    const remaining = BigInt(this.size - this.position - DIGEST_SIZE);
    const limit =
      type === RecordType.Value ? BigInt(bufferConstants.MAX_LENGTH) : BigInt(MAX_META_BYTES);
    if (payloadLength > remaining) {
      throw this.truncated(offset, `a payload of ${payloadLength} bytes`);
    }
    if (payloadLength > limit) {
      throw this.malformed(
        offset,
        `has a payload of ${payloadLength} bytes, more than a record of its type may hold`,
      );
    }
    const length = Number(payloadLength);
    const hash = createHash('sha256').update(start).update(nameAndLength);
    let payload: Buffer | undefined;
    // Small values are kept even when only checking: a visitor may look into them (manifests).
    if (keep || type !== RecordType.Value || length <= MAX_META_BYTES) {
      payload = await this.read(length, 'a payload');
      hash.update(payload);
    } else {
      for (let done = 0; done < length;) {
        const piece = await this.read(Math.min(CHUNK, length - done), 'a payload');
        hash.update(piece);
        done += piece.length;
      }
    }
    const digest = await this.read(DIGEST_SIZE, 'a record digest');
    const name = nameAndLength.toString('utf8', 0, nameLength);
    if (!hash.digest().equals(digest)) {
      throw new CheckpointError(
        'Integrity',
        `The archive ${quote(this.path)} is damaged: the record at byte ${offset}${name ? ` (${quote(name)})` : ''} does not match its SHA-256 digest; use another copy of the archive or export again.`,
      );
    }
    if (!Buffer.from(name, 'utf8').equals(nameAndLength.subarray(0, nameLength))) {
      throw this.malformed(offset, 'has a record name that is not valid UTF-8');
    }
    return { type, name, payloadLength: length, payload, offset };
  }

  private async read(length: number, what: string): Promise<Buffer> {
    if (length > this.size - this.position) throw this.truncated(this.position, what);
    const out = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      let bytesRead: number;
      try {
        ({ bytesRead } = await this.handle.read(out, done, length - done, this.position + done));
      } catch (error) {
        throw ioError('read', this.path, error);
      }
      if (bytesRead === 0) throw this.truncated(this.position + done, what);
      done += bytesRead;
    }
    this.position += length;
    return out;
  }

  private name(record: ArchiveRecord, what: 'identifier' | 'key', identifier?: string): string {
    try {
      assertValidName(what, record.name, identifier);
    } catch (error) {
      throw this.malformed(
        record.offset,
        `has a ${what} outside the grammar (${error instanceof Error ? error.message : String(error)})`,
      );
    }
    return record.name;
  }

  private json(record: ArchiveRecord): Record<string, unknown> {
    let value: unknown;
    try {
      value = JSON.parse(record.payload!.toString('utf8'));
    } catch {
      value = undefined;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw this.malformed(record.offset, 'has a record whose payload is not a JSON object');
    }
    return value as Record<string, unknown>;
  }

  private date(text: unknown, offset: number): Date {
    const date = typeof text === 'string' ? new Date(text) : undefined;
    if (date === undefined || Number.isNaN(date.getTime())) {
      throw this.malformed(offset, 'has a time that is not an ISO date');
    }
    return date;
  }

  private unexpected(record: ArchiveRecord, expected: string): CheckpointError {
    const type = String.fromCharCode(record.type);
    return this.malformed(record.offset, `has a ${type} record where ${expected} belongs`);
  }

  private malformed(offset: number, problem: string): CheckpointError {
    return new CheckpointError(
      'Deserialize',
      `The archive ${quote(this.path)} ${problem} (at byte ${offset}); check that it is a checkpointable archive, or export it again.`,
    );
  }

  private truncated(offset: number, what: string): CheckpointError {
    return new CheckpointError(
      'Integrity',
      `The archive ${quote(this.path)} is truncated: it ends at byte ${this.size}, inside ${what} starting at byte ${offset}. The export was interrupted or the copy is incomplete: use a complete copy or export again.`,
    );
  }
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

function ioError(action: string, path: string, error: unknown): CheckpointError {
  const code = (error as NodeJS.ErrnoException)?.code ?? 'unknown error';
  return new CheckpointError(
    'Io',
    `Could not ${action} the archive ${quote(path)} (${code}); check the path, its folder's permissions and the free space.`,
    { cause: error },
  );
}
