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
