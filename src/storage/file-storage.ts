import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { CheckpointError, quote } from '../errors';
import { GuardWrapper } from '../wrappers/guard-wrapper';
import {
  BaseCommittedCheckpoint,
  BaseUncommittedCheckpoint,
  keyNotFound,
} from './base-checkpoints';
import { alreadyCommitted, BaseStorage, checkpointNotFound } from './base-storage';
import { errorCode, FOLDER_MODE, ioError, syncFolder, writeNewFile } from './durable-fs';
import { folderName, identifierOf } from './file-names';
import type { CommittedCheckpoint, Storage } from './storage';

/**
 * How hard FileStorage works to survive a crash:
 * - `'durable'` (default): every value file, manifest and folder change is fsynced before
 *   commit resolves. A commit that resolved survives a killed process and a power cut.
 * - `'atomic'`: the same atomic rename, without fsync. A commit is still all-or-nothing
 *   and survives a killed process (the kernel keeps the data), but a power cut or kernel
 *   crash may lose recent commits. Several times faster: for tests and caches.
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
const MANIFEST = 'manifest.json';
const MANIFEST_VERSION = 1;
const VALUE_FILE = /^\d+\.v$/;

interface Manifest {
  format: number;
  identifier: string;
  createdAt: string;
  /** key -> value file name inside the checkpoint folder */
  keys: Record<string, string>;
}

/** This process's tag on staging folders, so a later open can tell live work from dead. */
const PROCESS_TAG = `${encodeURIComponent(hostname())}-${process.pid}`;
const STAGING_NAME = /^(.*)-(\d+)-[0-9a-f]+$/;

/**
 * Checkpoints in a folder on the local disk: the embedded default.
 *
 * Layout (see the README, "On-disk formats"):
 * ```
 * <dir>/checkpointable.json          marker: {"format":"checkpointable-file-storage","version":1}
 * <dir>/committed/<name>/manifest.json   identifier, createdAt, key -> file
 * <dir>/committed/<name>/<n>.v       one value's bytes
 * <dir>/staging/<host>-<pid>-<rand>/ an uncommitted checkpoint of a live process
 * <dir>/trash/<rand>/                a removed checkpoint being deleted
 * ```
 * A commit writes the manifest into the checkpoint's staging folder and renames the
 * folder into `committed/` in one step. The rename fails when the target exists (it is
 * never empty: it holds a manifest), so a committed checkpoint is never replaced, also
 * when two processes race. Staging folders of dead processes on this host are swept on
 * open. Folders are created 0700, files 0600.
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
  private readonly trashDir: string;

  private constructor(dir: string, durability: FileDurability) {
    super();
    this.dir = dir;
    this.durability = durability;
    this.committedDir = join(dir, 'committed');
    this.stagingDir = join(dir, 'staging');
    this.trashDir = join(dir, 'trash');
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
      } else if (entries.length > 0) {
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
      for (const sub of [this.committedDir, this.stagingDir, this.trashDir]) {
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

  /** Deletes what dead processes on this host left: staging folders and removed checkpoints. */
  private async sweep(): Promise<void> {
    const myHost = encodeURIComponent(hostname());
    for (const name of await readdirOrEmpty(this.stagingDir)) {
      const match = STAGING_NAME.exec(name);
      if (match === null || match[1] !== myHost || isAlive(Number(match[2]))) continue;
      await fs
        .rm(join(this.stagingDir, name), { recursive: true, force: true })
        .catch(() => undefined);
    }
    for (const name of await readdirOrEmpty(this.trashDir)) {
      await fs
        .rm(join(this.trashDir, name), { recursive: true, force: true })
        .catch(() => undefined);
    }
  }

  /** @internal */
  get isDurable(): boolean {
    return this.durability === 'durable';
  }

  protected async doCreate(identifier: string): Promise<FileUncommittedCheckpoint> {
    const target = join(this.committedDir, folderName(identifier));
    if (await exists(target, identifier)) throw alreadyCommitted(identifier);
    const staging = join(this.stagingDir, `${PROCESS_TAG}-${randomBytes(8).toString('hex')}`);
    try {
      await fs.mkdir(staging, { mode: FOLDER_MODE });
    } catch (error) {
      throw ioError('create the staging folder', staging, error, { identifier });
    }
    return new FileUncommittedCheckpoint(identifier, this, staging);
  }

  protected async doCommit(checkpoint: FileUncommittedCheckpoint): Promise<CommittedCheckpoint> {
    const { identifier, folder } = checkpoint;
    const target = join(this.committedDir, folderName(identifier));
    const manifest: Manifest = {
      format: MANIFEST_VERSION,
      identifier,
      createdAt: new Date().toISOString(),
      keys: checkpoint.fileOfKey(),
    };
    try {
      await checkpoint.dropUnreferencedFiles();
      await fs.rm(join(folder, MANIFEST), { force: true }); // from an earlier, failed attempt
      await writeNewFile(
        join(folder, MANIFEST),
        Buffer.from(JSON.stringify(manifest)),
        this.isDurable,
      );
      if (this.isDurable) await syncFolder(folder);
    } catch (error) {
      throw ioError('write the manifest in', folder, error, { identifier });
    }
    try {
      await fs.rename(folder, target);
    } catch (error) {
      const code = errorCode(error);
      if (code === 'ENOTEMPTY' || code === 'EEXIST') throw alreadyCommitted(identifier);
      throw ioError('publish the checkpoint as', target, error, { identifier });
    }
    if (this.isDurable) {
      try {
        await syncFolder(this.committedDir);
      } catch (error) {
        throw ioError('make the commit durable in', this.committedDir, error, { identifier });
      }
    }
    return new FileCommittedCheckpoint(target, manifest);
  }

  protected async doLoad(identifier: string): Promise<CommittedCheckpoint> {
    const folder = join(this.committedDir, folderName(identifier));
    const manifest = await readManifest(folder, identifier);
    if (manifest === undefined) throw checkpointNotFound(identifier);
    return new FileCommittedCheckpoint(folder, manifest);
  }

  protected async doRemove(identifier: string): Promise<void> {
    const folder = join(this.committedDir, folderName(identifier));
    const trash = join(this.trashDir, `${PROCESS_TAG}-${randomBytes(8).toString('hex')}`);
    // One rename takes the whole checkpoint out of view; deleting its files comes after.
    try {
      await fs.rename(folder, trash);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') throw checkpointNotFound(identifier);
      throw ioError('remove', folder, error, { identifier });
    }
    try {
      if (this.isDurable) await syncFolder(this.committedDir);
    } catch (error) {
      throw ioError('make the removal durable in', this.committedDir, error, { identifier });
    }
    await fs.rm(trash, { recursive: true, force: true }).catch(() => undefined);
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
        const manifest = await readManifest(join(this.committedDir, name), name).catch(
          () => undefined,
        );
        if (manifest !== undefined && folderName(manifest.identifier) === name)
          identifiers.push(manifest.identifier);
      }
    }
    return identifiers;
  }

  protected async doClose(): Promise<void> {}
}

interface StagedValue {
  readonly file: string;
  readonly written: Promise<void>;
}

/**
 * An uncommitted checkpoint of a {@link FileStorage}: a staging folder holding one file
 * per `put`. Each put writes a new file and only then points the key at it, so a failed
 * put (a full disk) leaves the key's previous value in place.
 */
export class FileUncommittedCheckpoint extends BaseUncommittedCheckpoint {
  private readonly values = new Map<string, StagedValue>();
  private readonly files = new Set<string>();
  private nextFile = 0;

  constructor(
    identifier: string,
    private readonly storage: FileStorage,
    /** @internal the staging folder */
    readonly folder: string,
  ) {
    super(identifier, storage);
  }

  protected async writeBytes(key: string, bytes: Uint8Array): Promise<void> {
    const previous = this.values.get(key);
    const file = `${this.nextFile++}.v`;
    this.files.add(file);
    const path = join(this.folder, file);
    const staged: StagedValue = {
      file,
      written: writeNewFile(path, bytes, this.storage.isDurable),
    };
    // The key points at the new file at call time, so calls take effect in call order.
    this.values.set(key, staged);
    try {
      await staged.written;
    } catch (error) {
      if (this.values.get(key) === staged) {
        if (previous === undefined) this.values.delete(key);
        else this.values.set(key, previous);
      }
      throw ioError('write', path, error, { identifier: this.identifier, key });
    }
  }

  protected async readBytes(key: string): Promise<Uint8Array> {
    const staged = this.values.get(key);
    if (staged === undefined) throw keyNotFound(this.identifier, key);
    try {
      await staged.written;
    } catch {
      return this.readBytes(key); // that put failed and handed the key back; read what it holds now
    }
    const path = join(this.folder, staged.file);
    try {
      return await fs.readFile(path);
    } catch (error) {
      throw ioError('read', path, error, { identifier: this.identifier, key });
    }
  }

  protected async deleteKey(key: string): Promise<void> {
    if (!this.values.delete(key)) throw keyNotFound(this.identifier, key);
  }

  protected async listKeys(): Promise<string[]> {
    return [...this.values.keys()];
  }

  protected async abandon(): Promise<void> {
    this.values.clear();
    try {
      await fs.rm(this.folder, { recursive: true, force: true });
    } catch (error) {
      throw ioError('delete the staging folder', this.folder, error, {
        identifier: this.identifier,
      });
    }
  }

  /** @internal key -> file, for the manifest */
  fileOfKey(): Record<string, string> {
    const out: Record<string, string> = Object.create(null);
    for (const [key, staged] of this.values) out[key] = staged.file;
    return out;
  }

  /** @internal deletes files of overwritten, removed or failed puts before publishing */
  async dropUnreferencedFiles(): Promise<void> {
    const referenced = new Set([...this.values.values()].map((v) => v.file));
    for (const file of this.files) {
      if (!referenced.has(file)) {
        await fs.rm(join(this.folder, file), { force: true });
        this.files.delete(file);
      }
    }
  }
}

/** A committed checkpoint of a {@link FileStorage}: its manifest, read once. */
class FileCommittedCheckpoint extends BaseCommittedCheckpoint {
  private readonly files: Map<string, string>;

  constructor(
    private readonly folder: string,
    manifest: Manifest,
  ) {
    super(manifest.identifier, new Date(manifest.createdAt));
    this.files = new Map(Object.entries(manifest.keys));
  }

  protected async readBytes(key: string): Promise<Uint8Array> {
    const file = this.files.get(key);
    if (file === undefined) throw keyNotFound(this.identifier, key);
    const path = join(this.folder, file);
    try {
      return await fs.readFile(path);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') {
        throw new CheckpointError(
          'NotFound',
          `Checkpoint ${quote(this.identifier)} was removed while this handle was open; wrap the storage in a GuardWrapper (FileStorage.open does) to prevent that.`,
          { identifier: this.identifier, key, cause: error },
        );
      }
      throw ioError('read', path, error, { identifier: this.identifier, key });
    }
  }

  protected async listKeys(): Promise<string[]> {
    return [...this.files.keys()];
  }
}

/** Reads and checks a checkpoint folder's manifest; undefined when there is none. */
async function readManifest(folder: string, identifier: string): Promise<Manifest | undefined> {
  const path = join(folder, MANIFEST);
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw ioError('read', path, error, { identifier });
  }
  let manifest: Manifest;
  try {
    manifest = JSON.parse(text) as Manifest;
  } catch (error) {
    throw badManifest(path, identifier, 'it is not valid JSON', error);
  }
  if (
    manifest?.format !== MANIFEST_VERSION ||
    typeof manifest.identifier !== 'string' ||
    typeof manifest.createdAt !== 'string' ||
    manifest.keys === null ||
    typeof manifest.keys !== 'object' ||
    !Object.values(manifest.keys).every((file) => typeof file === 'string' && VALUE_FILE.test(file))
  ) {
    throw badManifest(path, identifier, `it does not have manifest format ${MANIFEST_VERSION}`);
  }
  return manifest;
}

function badManifest(
  path: string,
  identifier: string,
  problem: string,
  cause?: unknown,
): CheckpointError {
  return new CheckpointError(
    'Deserialize',
    `The manifest of checkpoint ${quote(identifier)} (${path}) is damaged: ${problem}. Restore the folder from a backup or remove the checkpoint.`,
    { identifier, cause },
  );
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
