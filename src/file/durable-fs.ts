import { constants as bufferConstants } from 'node:buffer';
import { constants, promises as fs, type Stats } from 'node:fs';
import { CheckpointError, type CheckpointErrorDetails } from '../errors';

/**
 * File-system steps FileStorage builds its commits from. "Durable" means fsync: a file's
 * bytes, and a folder's list of names, reach the disk before the step resolves, so a
 * power cut or a killed process after it cannot lose them.
 */

/** Folders are private to the user that runs the service. */
export const FOLDER_MODE = 0o700;
/** Files are private to the user that runs the service. */
export const FILE_MODE = 0o600;

/**
 * Writes `bytes` to a new file (never an existing one), fsynced when `durable`.
 * @throws the Node.js error; callers turn it into a CheckpointError
 */
export async function writeNewFile(
  path: string,
  bytes: Uint8Array,
  durable: boolean,
): Promise<void> {
  const handle = await createExclusive(path);
  try {
    await handle.writeFile(bytes);
    if (durable) await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The largest buffer this Node.js can allocate. */
const BUFFER_MAX_LENGTH = bufferConstants.MAX_LENGTH;

/**
 * Opens `path` for reading without ever blocking or leaving the folder: a symbolic link is
 * refused by the kernel (`O_NOFOLLOW`, code `ELOOP`), and a FIFO, socket or device, which
 * `O_NONBLOCK` lets open at once instead of waiting for a writer, is refused after `fstat`
 * (code `ENOTREG`). The caller closes the handle.
 * @throws the Node.js error, or an `ENOTREG` coded error for what is not a regular file
 *
 * @example
 * ```ts
 * const { handle, stat } = await openRegularFile('/var/cp/committed/order-42');
 * ```
 */
export async function openRegularFile(
  path: string,
): Promise<{ handle: fs.FileHandle; stat: Stats }> {
  const handle = await fs.open(
    path,
    constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK,
  );
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) {
      throw Object.assign(new Error(`${path} is ${fileKind(stat)}, not a regular file`), {
        code: 'ENOTREG',
      });
    }
    return { handle, stat };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/**
 * Creates `path` for writing and reading back, failing when anything (even a dangling
 * link) already has the name. The caller closes the handle.
 *
 * @example
 * ```ts
 * const handle = await createExclusive('/var/cp/staging/host-1-ab12.pack');
 * ```
 */
export function createExclusive(path: string): Promise<fs.FileHandle> {
  return fs.open(
    path,
    constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    FILE_MODE,
  );
}

/** What a non-regular directory entry is, for messages. */
export function fileKind(stat: {
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
  isFIFO(): boolean;
  isSocket(): boolean;
  isFile(): boolean;
}): string {
  if (stat.isFile()) return 'a regular file';
  if (stat.isDirectory()) return 'a folder';
  if (stat.isSymbolicLink()) return 'a symbolic link';
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isSocket()) return 'a socket';
  return 'a device';
}

/** At most this many buffers per writev call (POSIX guarantees IOV_MAX >= 16; Linux has 1024). */
export const WRITEV_MAX_BUFFERS = 512;
/**
 * At most this many bytes per write call. Node.js reports the bytes written as a 32-bit
 * signed integer, so one call of 2 GiB or more reads back as a negative count; Linux
 * writes at most 2 GiB - 4 KiB per call anyway.
 */
export const WRITE_MAX_BYTES = 256 * 1024 * 1024;
/** At most this many bytes per read call, for the same reason as {@link WRITE_MAX_BYTES}. */
export const READ_MAX_BYTES = 256 * 1024 * 1024;

/**
 * Splits the start of `pending` into one write call's worth: at most
 * {@link WRITEV_MAX_BUFFERS} buffers and `maxBytes` bytes (a larger buffer is cut).
 *
 * @example
 * ```ts
 * nextWriteBatch([Buffer.alloc(10), Buffer.alloc(10)], 15); // [10 bytes, 5 bytes]
 * ```
 */
export function nextWriteBatch(pending: readonly Uint8Array[], maxBytes: number): Uint8Array[] {
  const batch: Uint8Array[] = [];
  let bytes = 0;
  for (const chunk of pending) {
    if (batch.length === WRITEV_MAX_BUFFERS || bytes === maxBytes) break;
    const take = Math.min(chunk.byteLength, maxBytes - bytes);
    batch.push(take === chunk.byteLength ? chunk : chunk.subarray(0, take));
    bytes += take;
  }
  return batch;
}

/**
 * Writes `chunks` one after another from offset 0 of the open, empty file `handle`. The
 * chunks are written as they are, with no concatenated copy: a 100 MB value costs no
 * second 100 MB buffer. Each call writes at most `maxBytes` (tests lower it) and
 * {@link WRITEV_MAX_BUFFERS} buffers; partial writes are resumed, and a call that writes
 * nothing, or reports more than it was given, is an error rather than a loop.
 * @throws the Node.js error, or an `EIO` coded error for a write that made no progress
 *
 * @example
 * ```ts
 * await writeChunks(handle, [prefix, header, value]);
 * ```
 */
export async function writeChunks(
  handle: fs.FileHandle,
  chunks: readonly Uint8Array[],
  maxBytes = WRITE_MAX_BYTES,
): Promise<void> {
  // Small values are copied into shared blocks: one iovec per 64 KiB rather than per key,
  // which keeps a commit of 100,000 small keys linear.
  const pending = coalesce(chunks);
  let next = 0; // pending[next] is the first chunk not fully written
  let position = 0;
  while (next < pending.length) {
    const batch = nextWriteBatch(pending.slice(next, next + WRITEV_MAX_BUFFERS), maxBytes);
    const offered = batch.reduce((sum, chunk) => sum + chunk.byteLength, 0);
    let { bytesWritten } = await handle.writev(batch, position);
    if (!(bytesWritten > 0 && bytesWritten <= offered)) {
      throw Object.assign(
        new Error(`write made no progress (${bytesWritten} of ${offered} bytes written)`),
        { code: 'EIO' },
      );
    }
    position += bytesWritten;
    while (next < pending.length && bytesWritten >= pending[next].byteLength) {
      bytesWritten -= pending[next].byteLength;
      next++;
    }
    if (bytesWritten > 0) pending[next] = pending[next].subarray(bytesWritten);
  }
}

/** Values under this size are copied together into blocks of {@link BLOCK_SIZE}. */
const SMALL_CHUNK = 4096;
const BLOCK_SIZE = 64 * 1024;

function coalesce(chunks: readonly Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let block: Buffer | undefined;
  let used = 0;
  const flush = () => {
    if (block !== undefined && used > 0) out.push(block.subarray(0, used));
    block = undefined;
    used = 0;
  };
  for (const chunk of chunks) {
    if (chunk.byteLength === 0) continue;
    if (chunk.byteLength >= SMALL_CHUNK) {
      flush();
      out.push(chunk);
      continue;
    }
    if (block === undefined || used + chunk.byteLength > BLOCK_SIZE) {
      flush();
      block = Buffer.allocUnsafe(BLOCK_SIZE);
    }
    block.set(chunk, used);
    used += chunk.byteLength;
  }
  flush();
  return out;
}

/**
 * Reads `length` bytes at `position` of the open file into a new buffer, at most
 * {@link READ_MAX_BYTES} per call.
 * @throws the Node.js error, an `EOF` coded error when the file is shorter, or an
 *   `EFBIG` coded error when `length` is more than one buffer can hold
 */
export async function readExactly(
  handle: fs.FileHandle,
  position: number,
  length: number,
): Promise<Buffer> {
  if (!Number.isSafeInteger(length) || length < 0 || length > BUFFER_MAX_LENGTH) {
    throw Object.assign(new Error(`cannot hold ${length} bytes in one buffer`), { code: 'EFBIG' });
  }
  const out = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const want = Math.min(length - done, READ_MAX_BYTES);
    const { bytesRead } = await handle.read(out, done, want, position + done);
    if (bytesRead === 0) throw Object.assign(new Error('unexpected end of file'), { code: 'EOF' });
    done += bytesRead;
  }
  return out;
}

/** Makes the list of names in folder `path` durable (after a create, rename or unlink). */
export async function syncFolder(path: string): Promise<void> {
  // O_DIRECTORY: never opens (and blocks on) a FIFO put in a folder's place. Links are
  // followed: the store's own folder may be reached through one (its subfolders may not).
  const handle = await fs.open(path, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    // Not waited for: the fsync is what the caller waits for, and a commit one at a time
    // saves a round trip to the file-system thread pool. Closing a folder cannot fail in
    // a way that matters to the data.
    handle.close().catch(() => undefined);
  }
}

/** The Node.js error code (`ENOENT`, `ENOSPC`, ...) of `error`, if it has one. */
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

const ADVICE: Record<string, string> = {
  ENOSPC: 'the disk is full; free space and retry',
  EDQUOT: 'the disk quota is exhausted; free space and retry',
  EROFS: 'the file system is read-only; mount it read-write or choose another folder',
  EACCES: 'permission denied; give the service user access to the folder',
  EPERM: 'operation not permitted; give the service user access to the folder',
  EMFILE: 'too many open files; raise the limit (ulimit -n) or release handles you no longer need',
  EIO: 'the device reported an I/O error; check the disk',
  EOF: 'the file is shorter than its header says; it was damaged or truncated',
  ENOTREG: 'it is not a regular file; FileStorage never reads links, FIFOs or devices',
  ELOOP: 'it is a symbolic link, which FileStorage never follows',
  EFBIG: 'the value is larger than one Node.js buffer can hold',
};

/**
 * The `Io` CheckpointError for a failed file-system step.
 *
 * @example
 * ```ts
 * throw ioError('write', '/var/cp/staging/x/0.v', error, { identifier: 'x', key: 'order' });
 * ```
 */
export function ioError(
  action: string,
  path: string,
  error: unknown,
  details: CheckpointErrorDetails = {},
): CheckpointError {
  const code = errorCode(error);
  const advice = (code && ADVICE[code]) ?? `${code ?? String(error)}`;
  return new CheckpointError(
    'Io',
    `Could not ${action} ${path}: ${advice}${code && ADVICE[code] ? ` (${code})` : ''}.`,
    {
      ...details,
      cause: error,
    },
  );
}

/**
 * Folder fsyncs shared by concurrent commits (group commit). A commit that asks for one
 * after its link waits for a sync that starts after it asked: the one running now may have
 * started before its link and does not cover it, so it waits for the next, which every
 * commit asking meanwhile shares. Sixteen commits in flight then cost about two folder
 * fsyncs, not sixteen.
 *
 * @example
 * ```ts
 * const committed = new GroupSync('/var/cp/committed');
 * await fs.link(staging, target);
 * await committed.sync(); // the link is durable
 * ```
 */
export class GroupSync {
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;

  /** @param folder the folder whose list of names is made durable */
  constructor(private readonly folder: string) {}

  /**
   * Resolves once a fsync of the folder that started after this call has finished.
   * @throws the Node.js error of that fsync
   */
  sync(): Promise<void> {
    if (this.running === undefined) return this.start();
    this.queued ??= this.running.then(
      () => this.startQueued(),
      () => this.startQueued(),
    );
    return this.queued;
  }

  private startQueued(): Promise<void> {
    this.queued = undefined;
    return this.start();
  }

  private start(): Promise<void> {
    const run = syncFolder(this.folder).finally(() => {
      if (this.running === run) this.running = undefined;
    });
    this.running = run;
    return run;
  }
}
