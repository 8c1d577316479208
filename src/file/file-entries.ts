import { promises as fs } from 'node:fs';
import { CheckpointError, quote } from '../errors';
import { errorCode, fileKind, ioError, openRegularFile, readExactly } from './durable-fs';
import { readPackHeader, type PackHeader } from './file-pack';

/**
 * How FileStorage opens and judges the entries of `committed/`: only regular files it
 * wrote are read, through no link, and anything else with a checkpoint's name is a damaged
 * entry, refused by every operation that meets it.
 */

/**
 * Opens and checks the committed pack at `path`; undefined when there is no such file.
 * @throws {CheckpointError} `Deserialize` for a damaged pack or an entry that is not a
 *   regular file; `Io` when the file system fails
 *
 * @example
 * ```ts
 * const opened = await openPack('/var/cp/committed/order-42', 'order-42');
 * ```
 */
export async function openPack(
  path: string,
  identifier: string,
): Promise<{ handle: fs.FileHandle; header: PackHeader } | undefined> {
  let handle: fs.FileHandle;
  let size: number;
  try {
    ({
      handle,
      stat: { size },
    } = await openRegularFile(path));
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    if (code === 'ELOOP' || code === 'ENOTREG') {
      const kind = await entryKind(path, identifier).catch(() => undefined);
      throw damagedEntry(identifier, path, kind ?? 'a symbolic link');
    }
    throw ioError('read', path, error, { identifier });
  }
  try {
    const header = await readPackHeader(path, size, (position, length) =>
      readExactly(handle, position, length),
    );
    return { handle, header };
  } catch (error) {
    await handle.close();
    if (error instanceof CheckpointError) {
      throw new CheckpointError(error.kind, error.message, { identifier, cause: error.cause });
    }
    throw ioError('read', path, error, { identifier });
  }
}

/**
 * Why the pack at `path` is not a readable checkpoint `identifier`, or undefined.
 *
 * @example
 * ```ts
 * await packProblem('/var/cp/committed/order-42', 'order-42'); // undefined when intact
 * ```
 */
export async function packProblem(path: string, identifier: string): Promise<string | undefined> {
  let opened;
  try {
    opened = await openPack(path, identifier);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  if (opened === undefined) return 'it was removed while it was being checked';
  await opened.handle.close();
  if (opened.header.identifier !== identifier) {
    return `it holds checkpoint ${quote(opened.header.identifier)}, not ${quote(identifier)}`;
  }
  return undefined;
}

/**
 * What has the name `path`: 'file' for a regular file, a description otherwise, undefined if nothing.
 *
 * @example
 * ```ts
 * await entryKind('/var/cp/committed/a', 'a'); // 'file', 'a symbolic link', ... or undefined
 * ```
 */
export async function entryKind(path: string, identifier: string): Promise<string | undefined> {
  try {
    const stat = await fs.lstat(path);
    return stat.isFile() ? 'file' : fileKind(stat);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw ioError('check', path, error, { identifier });
  }
}

/**
 * The `Deserialize` error for a name in `committed/` held by something FileStorage never
 * wrote (a link, a folder, a FIFO).
 *
 * @example
 * ```ts
 * throw damagedEntry('order-42', '/var/cp/committed/order-42', 'a symbolic link');
 * ```
 */
export function damagedEntry(identifier: string, path: string, kind: string): CheckpointError {
  return new CheckpointError(
    'Deserialize',
    `The entry ${path} of checkpoint ${quote(identifier)} is ${kind}, not a checkpoint file; FileStorage reads and replaces only the regular files it wrote and follows no links. Remove it by hand, or with removeCheckpoint(${quote(identifier)}), which removes the entry itself and nothing it points to.`,
    { identifier },
  );
}
