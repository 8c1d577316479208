import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { CheckpointError, quote } from '../errors';
import { GuardWrapper } from '../wrappers/guard-wrapper';
import { BaseCommittedCheckpoint, keyNotFound } from './base-checkpoints';
import { alreadyCommitted, BaseStorage, checkpointNotFound } from './base-storage';
import { BufferedUncommittedCheckpoint } from './buffered-uncommitted-checkpoint';
import {
  errorCode,
  FOLDER_MODE,
  ioError,
  readExactly,
  syncFolder,
  writeNewFile,
  writeNewFileChunks,
} from './durable-fs';
import { fileName, identifierOf } from './file-names';
import { buildPack, readPackHeader, type PackHeader } from './file-pack';
import type { CommittedCheckpoint, Storage } from './storage';

/**
 * How hard FileStorage works to survive a crash:
 * - `'durable'` (default): the checkpoint's file is fsynced before it is linked into
 *   `committed/`, and the folder after, all before commit resolves. A commit that
 *   resolved survives a killed process and a power cut.
 * - `'atomic'`: the same steps without fsync. A commit is still all-or-nothing and
 *   survives a killed process (the kernel keeps the data), but a power cut or kernel
 *   crash may lose recent commits: for tests and caches.
 */
export type FileDurability = 'durable' | 'atomic';

/** Options of {@link FileStorage.open}. */
export interface FileStorageOptions {
  /** See {@link FileDurability}; `'durable'` by default. */
  durability?: FileDurability;
}

/** The marker file that makes a folder a checkpoint store. */
const MARKER = 'checkpointable.json';
const MARKER_CONTENT = { format: 'checkpointable-file-storage', version: 1 };
/** The temporary name a marker is written under before it is renamed into place. */
const MARKER_TEMP = /^\.checkpointable\.json\.[0-9a-f]+$/;
/** This process's tag on staging files, so a later open can tell live work from dead. */
const PROCESS_TAG = `${encodeURIComponent(hostname())}-${process.pid}`;
const STAGING_NAME = /^(.*)-(\d+)-[0-9a-f]+\.pack$/;

/**
 * Checkpoints in a folder on the local disk: the embedded default.
 *
 * Layout (see the README, "On-disk formats"):
 * ```
 * <dir>/checkpointable.json               marker: {"format":"checkpointable-file-storage","version":1}
 * <dir>/committed/<name>                  one committed checkpoint: a pack file (file-pack.ts)
 * <dir>/staging/<host>-<pid>-<rand>.pack  a commit in progress
 * ```
 * An uncommitted checkpoint lives in this process's memory until it is committed; nothing
 * reaches the disk before. A commit writes the whole checkpoint as one file in `staging/`,
 * fsyncs it, and publishes it with `link()` into `committed/`, which fails when the name
 * exists, so a committed checkpoint is never replaced, also when processes race; then it
 * fsyncs `committed/`. Two fsyncs per commit, whatever the number of keys. Removal is one
 * `unlink`. Staging files of dead processes on this host are deleted on open. Folders are
 * created 0700, files 0600.
 *
 * `FileStorage.open()` returns the storage wrapped in a {@link GuardWrapper};
 * `FileStorage.openRaw()` returns the bare storage, for building wrapper chains.
 *
 * @example
 * ```ts
 * const storage = await FileStorage.open('./var/checkpoints');
 * const draft = await storage.createCheckpoint('order-42');
 * await draft.put('order', { id: 42 });
 * await (await storage.commitCheckpoint(draft)).release();
 * ```
 */
export class FileStorage extends BaseStorage<FileUncommittedCheckpoint> {
  protected readonly storageName = 'FileStorage';
  /** The store's folder, absolute. */
  readonly dir: string;
  /** `'durable'` or `'atomic'`. */
  readonly durability: FileDurability;
  private readonly committedDir: string;
  private readonly stagingDir: string;

  private constructor(dir: string, durability: FileDurability) {
    super();
    this.dir = dir;
    this.durability = durability;
    this.committedDir = join(dir, 'committed');
    this.stagingDir = join(dir, 'staging');
  }

  /**
   * Opens (creating it if needed) the checkpoint store in `dir`, guarded.
   *
   * @throws {CheckpointError} `Initialization` when `dir` is a file, or a non-empty folder
   *   that is not a checkpoint store, or cannot be created
   *
   * @example
   * ```ts
   * const storage = await FileStorage.open('./var/checkpoints', { durability: 'durable' });
   * ```
   */
  static async open(dir: string, options: FileStorageOptions = {}): Promise<Storage> {
    return GuardWrapper.wrap(await FileStorage.openRaw(dir, options));
  }

  /**
   * Opens the store in `dir` without a guard, for composing wrapper chains.
   *
   * @example
   * ```ts
   * const storage = GuardWrapper.wrap(ChecksumWrapper.wrap(await FileStorage.openRaw(dir)));
   * ```
   */
  static async openRaw(dir: string, options: FileStorageOptions = {}): Promise<FileStorage> {
    const durability = options.durability ?? 'durable';
    if (durability !== 'durable' && durability !== 'atomic') {
      throw new CheckpointError(
        'Initialization',
        `FileStorage durability must be 'durable' or 'atomic', not ${quote(String(durability))}.`,
      );
    }
    if (typeof dir !== 'string' || dir.length === 0) {
      throw new CheckpointError(
        'Initialization',
        'FileStorage.open() needs a folder path, such as "./var/checkpoints".',
      );
    }
    const storage = new FileStorage(resolve(dir), durability);
    await storage.initialize();
    return storage;
  }

  private async initialize(): Promise<void> {
    const { dir } = this;
    const fail = (problem: string, cause?: unknown) =>
      new CheckpointError('Initialization', `Cannot open checkpoint folder ${dir}: ${problem}.`, {
        cause,
      });
    let entries: string[];
    try {
      const stat = await fs.stat(dir);
      if (!stat.isDirectory()) throw fail('it is a file, not a folder; choose a folder path');
      entries = await fs.readdir(dir);
    } catch (error) {
      if (error instanceof CheckpointError) throw error;
      if (errorCode(error) !== 'ENOENT') throw fail(String(errorCode(error) ?? error), error);
      entries = [];
    }
    try {
      if (entries.includes(MARKER)) {
        await this.checkMarker(fail);
      } else if (entries.some((name) => !MARKER_TEMP.test(name))) {
        // Only another process's half-written marker may be here: that folder is being made
        // a store right now (subfolders come after the marker), so we make it one too.
        throw fail(
          `it is not empty and holds no ${MARKER}, so it is not a checkpoint store; choose an empty or new folder`,
        );
      } else {
        await fs.mkdir(dir, { recursive: true, mode: FOLDER_MODE });
        // Written under a temporary name and renamed, so a concurrent open never reads half a marker.
        const temp = join(dir, `.${MARKER}.${randomBytes(6).toString('hex')}`);
        await writeNewFile(
          temp,
          Buffer.from(JSON.stringify(MARKER_CONTENT) + '\n'),
          this.isDurable,
        );
        await fs.rename(temp, join(dir, MARKER));
      }
      for (const sub of [this.committedDir, this.stagingDir]) {
        await fs.mkdir(sub, { recursive: true, mode: FOLDER_MODE });
      }
      if (this.isDurable) await syncFolder(dir);
    } catch (error) {
      if (error instanceof CheckpointError) throw error;
      throw fail(
        `${errorCode(error) ?? error}; check that the service user may create and write it`,
        error,
      );
    }
    await this.sweep();
  }

  private async checkMarker(
    fail: (problem: string, cause?: unknown) => CheckpointError,
  ): Promise<void> {
    let marker: unknown;
    try {
      marker = JSON.parse(await fs.readFile(join(this.dir, MARKER), 'utf8'));
    } catch (error) {
      throw fail(`its ${MARKER} cannot be read`, error);
    }
    const m = marker as Partial<typeof MARKER_CONTENT> | null;
    if (m?.format !== MARKER_CONTENT.format || m.version !== MARKER_CONTENT.version) {
      throw fail(
        `its ${MARKER} says ${JSON.stringify(marker)}, a format this version does not know; open it with the version of checkpointable that wrote it`,
      );
    }
  }

  /** Deletes the staging files that dead processes on this host left behind. */
  private async sweep(): Promise<void> {
    const myHost = encodeURIComponent(hostname());
    for (const name of await readdirOrEmpty(this.stagingDir)) {
      const match = STAGING_NAME.exec(name);
      if (match === null || match[1] !== myHost || isAlive(Number(match[2]))) continue;
      await fs.rm(join(this.stagingDir, name), { force: true }).catch(() => undefined);
    }
  }

  /** @internal */
  get isDurable(): boolean {
    return this.durability === 'durable';
  }

  protected async doCreate(identifier: string): Promise<FileUncommittedCheckpoint> {
    const target = join(this.committedDir, fileName(identifier));
    if (await exists(target, identifier)) throw alreadyCommitted(identifier);
    return new FileUncommittedCheckpoint(identifier, this);
  }

  protected async doCommit(checkpoint: FileUncommittedCheckpoint): Promise<CommittedCheckpoint> {
    const { identifier } = checkpoint;
    const target = join(this.committedDir, fileName(identifier));
    const staging = join(this.stagingDir, `${PROCESS_TAG}-${randomBytes(8).toString('hex')}.pack`);
    const { chunks, header } = buildPack(identifier, new Date(), checkpoint.values);
    try {
      await writeNewFileChunks(staging, chunks, this.isDurable);
    } catch (error) {
      await fs.unlink(staging).catch(() => undefined); // may not exist if the open failed
      throw ioError('write', staging, error, { identifier });
    }
    try {
      // link(), unlike rename(), refuses an existing name: the commit is exclusive.
      await fs.link(staging, target);
    } catch (error) {
      if (errorCode(error) === 'EEXIST') throw alreadyCommitted(identifier);
      throw ioError('publish the checkpoint as', target, error, { identifier });
    } finally {
      await fs.unlink(staging).catch(() => undefined);
    }
    if (this.isDurable) {
      try {
        await syncFolder(this.committedDir);
      } catch (error) {
        throw ioError('make the commit durable in', this.committedDir, error, { identifier });
      }
    }
    checkpoint.values.clear(); // the handle is used up; do not hold the values twice
    return new FileCommittedCheckpoint(target, header);
  }

  protected async doLoad(identifier: string): Promise<CommittedCheckpoint> {
    const path = join(this.committedDir, fileName(identifier));
    const header = await readHeader(path, identifier);
    if (header === undefined) throw checkpointNotFound(identifier);
    // The file name is where the caller looked; the header must agree. Otherwise a file
    // copied over another checkpoint would be served as it, and the HMAC and encryption
    // bindings, which use the handle's identifier, would vouch for it.
    if (header.identifier !== identifier) {
      throw new CheckpointError(
        'Integrity',
        `The file of checkpoint ${quote(identifier)} (${path}) holds checkpoint ${quote(header.identifier)}: it was moved or copied there. Restore the right file from a backup or remove the checkpoint.`,
        { identifier },
      );
    }
    return new FileCommittedCheckpoint(path, header);
  }

  protected async doRemove(identifier: string): Promise<void> {
    const path = join(this.committedDir, fileName(identifier));
    try {
      await fs.unlink(path);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') throw checkpointNotFound(identifier);
      throw ioError('remove', path, error, { identifier });
    }
    try {
      if (this.isDurable) await syncFolder(this.committedDir);
    } catch (error) {
      throw ioError('make the removal durable in', this.committedDir, error, { identifier });
    }
  }

  protected async doList(): Promise<string[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.committedDir);
    } catch (error) {
      throw ioError('list', this.committedDir, error);
    }
    const identifiers: string[] = [];
    for (const name of names) {
      const identifier = identifierOf(name);
      if (identifier !== undefined) {
        identifiers.push(identifier);
      } else if (name.startsWith('~')) {
        // Hashed names keep the identifier only in the pack's header.
        const header = await readHeader(join(this.committedDir, name), name).catch(() => undefined);
        if (header !== undefined && fileName(header.identifier) === name)
          identifiers.push(header.identifier);
      }
    }
    return identifiers;
  }

  protected async doClose(): Promise<void> {}
}

/**
 * An uncommitted checkpoint of a {@link FileStorage}: its values stay in this process until
 * the commit writes them as one file, so a crash before commit leaves nothing on disk.
 */
export class FileUncommittedCheckpoint extends BufferedUncommittedCheckpoint {}

/** A committed checkpoint of a {@link FileStorage}: its pack header, read once. */
class FileCommittedCheckpoint extends BaseCommittedCheckpoint {
  constructor(
    private readonly path: string,
    private readonly header: PackHeader,
  ) {
    super(header.identifier, new Date(header.createdAt));
  }

  protected async readBytes(key: string): Promise<Uint8Array> {
    const entry = this.header.keys.get(key);
    if (entry === undefined) throw keyNotFound(this.identifier, key);
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(this.path, 'r');
    } catch (error) {
      if (errorCode(error) === 'ENOENT') {
        throw new CheckpointError(
          'NotFound',
          `Checkpoint ${quote(this.identifier)} was removed while this handle was open; wrap the storage in a GuardWrapper (FileStorage.open does) to prevent that.`,
          { identifier: this.identifier, key, cause: error },
        );
      }
      throw ioError('read', this.path, error, { identifier: this.identifier, key });
    }
    try {
      return await readExactly(handle, this.header.dataStart + entry[0], entry[1]);
    } catch (error) {
      throw ioError('read', this.path, error, { identifier: this.identifier, key });
    } finally {
      await handle.close();
    }
  }

  protected async listKeys(): Promise<string[]> {
    return [...this.header.keys.keys()];
  }
}

/** Reads and checks a committed checkpoint's header; undefined when there is no such file. */
async function readHeader(path: string, identifier: string): Promise<PackHeader | undefined> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(path, 'r');
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw ioError('read', path, error, { identifier });
  }
  try {
    const { size } = await handle.stat();
    return await readPackHeader(path, size, (position, length) =>
      readExactly(handle, position, length),
    );
  } catch (error) {
    if (error instanceof CheckpointError) {
      throw new CheckpointError(error.kind, error.message, { identifier, cause: error.cause });
    }
    throw ioError('read', path, error, { identifier });
  } finally {
    await handle.close();
  }
}

async function exists(path: string, identifier: string): Promise<boolean> {
  try {
    await fs.stat(path);
    return true;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return false;
    throw ioError('check', path, error, { identifier });
  }
}

async function readdirOrEmpty(path: string): Promise<string[]> {
  try {
    return await fs.readdir(path);
  } catch {
    return [];
  }
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) === 'EPERM'; // exists, owned by someone else
  }
}
