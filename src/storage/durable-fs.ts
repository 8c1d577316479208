import { promises as fs } from 'node:fs';
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
  const handle = await fs.open(path, 'wx', FILE_MODE);
  try {
    await handle.writeFile(bytes);
    if (durable) await handle.sync();
  } finally {
    await handle.close();
  }
}

/** At most this many buffers per writev call (POSIX guarantees IOV_MAX >= 16; Linux has 1024). */
const WRITEV_BATCH = 512;

/**
 * Writes `chunks` one after another to a new file (never an existing one), fsynced when
 * `durable`. The chunks are written as they are, with no concatenated copy: a 100 MB
 * value costs no second 100 MB buffer. Partial writes are resumed.
 * @throws the Node.js error; callers turn it into a CheckpointError
 */
export async function writeNewFileChunks(
  path: string,
  chunks: readonly Uint8Array[],
  durable: boolean,
): Promise<void> {
  const handle = await fs.open(path, 'wx', FILE_MODE);
  try {
    const pending = chunks.filter((c) => c.byteLength > 0);
    let position = 0;
    while (pending.length > 0) {
      const batch = pending.slice(0, WRITEV_BATCH);
      let { bytesWritten } = await handle.writev(batch, position);
      if (bytesWritten === 0)
        throw Object.assign(new Error('write made no progress'), { code: 'EIO' });
      position += bytesWritten;
      while (pending.length > 0 && bytesWritten >= pending[0].byteLength) {
        bytesWritten -= pending[0].byteLength;
        pending.shift();
      }
      if (bytesWritten > 0) pending[0] = pending[0].subarray(bytesWritten);
    }
    if (durable) await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Reads `length` bytes at `position` of the open file into a new buffer.
 * @throws the Node.js error, or an `EOF` coded error when the file is shorter
 */
export async function readExactly(
  handle: fs.FileHandle,
  position: number,
  length: number,
): Promise<Buffer> {
  const out = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(out, done, length - done, position + done);
    if (bytesRead === 0) throw Object.assign(new Error('unexpected end of file'), { code: 'EOF' });
    done += bytesRead;
  }
  return out;
}

/** Makes the list of names in folder `path` durable (after a create, rename or unlink). */
export async function syncFolder(path: string): Promise<void> {
  const handle = await fs.open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
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
  EMFILE: 'too many open files; raise the limit (ulimit -n)',
  EIO: 'the device reported an I/O error; check the disk',
  EOF: 'the file is shorter than its header says; it was damaged or truncated',
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
