import { randomBytes } from 'node:crypto';
import { type Dirent, promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { CheckpointError, quote } from '../errors';
import { GuardWrapper } from '../wrappers/guard-wrapper';
import { alreadyCommitted, BaseStorage, checkpointNotFound } from '../storage/base-storage';
import { BufferedUncommittedCheckpoint } from '../storage/buffered-uncommitted-checkpoint';
import {
  errorCode,
  fileKind,
  FOLDER_MODE,
  GroupSync,
  ioError,
  openRegularFile,
  readExactly,
  syncFolder,
  writeChunks,
  writeNewFile,
  WRITE_MAX_BYTES,
} from './durable-fs';
import { FileCommittedCheckpoint } from './file-committed-checkpoint';
import { FolderListingCache, prefixRange } from './file-listing-cache';
import { damagedEntry, entryKind, openPack, packProblem } from './file-entries';
import { HashedNames } from './file-hashed-names';
import { StagingPool } from './file-staging-pool';
import { fileName, identifierOf } from './file-names';
import { buildPack } from './file-pack';
import type {
  CheckpointSummaries,
  CheckpointSummary,
  SummaryListing,
} from '../storage/checkpoint-summaries';
import { assertValidName, nameProblem, sortNames } from '../storage/names';
import {
  selectWithPrefix,
  type PrefixListing,
  type PrefixListingOptions,
} from '../storage/prefix-listing';
import type { CommittedCheckpoint, CreateCheckpointOptions, Storage } from '../storage/storage';

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
  /**
   * Called by `checkpointIdentifiers()` for each entry of `committed/` it skips because it
   * is not a checkpoint (see {@link FileStorage.listDamaged}), so that nothing is dropped
   * without a word. Without it, skipped entries are only visible through `listDamaged()`.
   */
  onDamaged?: (entry: DamagedEntry) => void;
}

/** The marker file that makes a folder a checkpoint store. */
const MARKER = 'checkpointable.json';
/** A marker is a few dozen bytes; anything much larger is not ours. */
const MARKER_MAX_BYTES = 4096;
const MARKER_CONTENT = { format: 'checkpointable-file-storage', version: 1 };
/** The temporary name a marker is written under before it is renamed into place. */
const MARKER_TEMP = /^\.checkpointable\.json\.[0-9a-f]+$/;
/** This process's tag on staging files, so a later open can tell live work from dead. */
const PROCESS_TAG = `${encodeURIComponent(hostname())}-${process.pid}`;
/** A staging file in `staging/`, as versions before staging in `committed/` wrote them. */
const STAGING_NAME = /^(.*)-(\d+)-[0-9a-f]+\.pack$/;
/**
 * A commit in progress in `committed/`: hidden (a leading `.`, which no checkpoint's file
 * name has) and tagged with its writer's host and pid.
 */
const HIDDEN_STAGING_NAME = /^\.(.*)-(\d+)-[0-9a-f]{16}\.pack$/;

/**
 * Checkpoints in a folder on the local disk: the embedded default.
 *
 * Layout (see the README, "On-disk formats"):
 * ```
 * <dir>/checkpointable.json               marker: {"format":"checkpointable-file-storage","version":1}
 * <dir>/committed/<name>                  one committed checkpoint: a pack file (file-pack.ts)
 * <dir>/committed/.<host>-<pid>-<rand>.pack  a commit in progress, or a staging file made ahead
 * <dir>/staging/                          where earlier versions staged; swept, otherwise unused
 * <dir>/hashed-names                      identifiers behind `~<sha256>` names (file-hashed-names.ts)
 * ```
 * An uncommitted checkpoint lives in this process's memory until it is committed; nothing
 * reaches the disk before. A commit writes the whole checkpoint into a hidden staging file
 * in `committed/` (made ahead of time, file-staging-pool.ts), fdatasyncs it, and publishes
 * it with `link()` under its name, which fails when the name exists, so a committed
 * checkpoint is never replaced, also when processes race; then it fsyncs `committed/`, a
 * fsync concurrent commits share. Two flushes per commit, whatever the number of keys.
 * Removal is one `unlink`. Staging files of dead processes on this host are deleted on
 * open, the ready ones of this storage on close. Listing keeps the sorted listing of
 * `committed/` while the folder is unchanged (file-listing-cache.ts). Folders are created
 * 0700, files 0600.
 *
 * What it refuses (see docs/file-storage.md): linked `committed/` or `staging/`
 * folders (`Initialization`); links, folders, FIFOs and devices under a checkpoint's name
 * (`Deserialize`, never followed, never blocking); lengths that do not fit the file or the
 * 64 MiB header bound (`Deserialize`, before any allocation). Listing skips such entries and
 * reports them through `onDamaged` and {@link FileStorage.listDamaged}. A committed handle
 * holds its file open until released, so it reads what it loaded whatever other processes do.
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
export class FileStorage
  extends BaseStorage<FileUncommittedCheckpoint>
  implements SummaryListing, PrefixListing
{
  protected readonly storageName = 'FileStorage';
  /** The store's folder, absolute. */
  readonly dir: string;
  /** `'durable'` or `'atomic'`. */
  readonly durability: FileDurability;
  private readonly committedDir: string;
  private readonly stagingDir: string;
  private readonly names: HashedNames;
  /** The fsyncs of `committed/`, shared by concurrent commits. */
  private readonly committedSync: GroupSync;
  /** Empty staging files made ahead of commits. */
  private readonly stagingPool: StagingPool;
  /** The last listing of `committed/`, sorted, reused while the folder is unchanged. */
  private readonly listing: FolderListingCache<Listing>;
  /**
   * Summaries read while `committed/` showed the listing `summarized.listing`: valid as long
   * as the listing cache hands out that same listing, since an unchanged folder holds the
   * same, never rewritten, pack files.
   */
  private summarized: { listing: Listing; byIdentifier: Map<string, CheckpointSummary> } = {
    listing: { identifiers: [], damaged: [] },
    byIdentifier: new Map(),
  };
  /** The most bytes one write call is given; lowered by tests only. @internal */
  writeMaxBytes = WRITE_MAX_BYTES;

  private constructor(
    dir: string,
    durability: FileDurability,
    private readonly options: FileStorageOptions,
  ) {
    super();
    this.dir = dir;
    this.durability = durability;
    this.committedDir = join(dir, 'committed');
    this.stagingDir = join(dir, 'staging');
    this.names = new HashedNames(dir, this.committedDir);
    this.listing = new FolderListingCache(this.committedDir);
    this.committedSync = new GroupSync(this.committedDir);
    this.stagingPool = new StagingPool(this.committedDir, PROCESS_TAG);
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
    const storage = new FileStorage(resolve(dir), durability, options);
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
        // A linked subfolder would send commits, and the sweep's deletions, outside the store.
        const stat = await fs.lstat(sub);
        if (!stat.isDirectory()) {
          throw fail(
            `${sub} is ${fileKind(stat)}, not a folder; FileStorage keeps its checkpoints inside its own folder and follows no links. Replace it with a real folder (move its contents in) or choose another folder`,
          );
        }
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
    const path = join(this.dir, MARKER);
    try {
      const { handle, stat } = await openRegularFile(path);
      try {
        if (stat.size > MARKER_MAX_BYTES) throw fail(`its ${MARKER} is ${stat.size} bytes long`);
        marker = JSON.parse((await readExactly(handle, 0, stat.size)).toString('utf8'));
      } finally {
        await handle.close();
      }
    } catch (error) {
      if (error instanceof CheckpointError) throw error;
      throw fail(`its ${MARKER} cannot be read (${errorCode(error) ?? String(error)})`, error);
    }
    const m = marker as Partial<typeof MARKER_CONTENT> | null;
    if (m?.format !== MARKER_CONTENT.format || m.version !== MARKER_CONTENT.version) {
      throw fail(
        `its ${MARKER} says ${JSON.stringify(marker)}, a format this version does not know; open it with the version of checkpointable that wrote it`,
      );
    }
  }

  /**
   * Deletes the staging files that dead processes on this host left behind: hidden names in
   * `committed/`, and files in `staging/`, where earlier versions staged.
   */
  private async sweep(): Promise<void> {
    const myHost = encodeURIComponent(hostname());
    const sweepIn = async (folder: string, pattern: RegExp) => {
      for (const name of await readdirOrEmpty(folder)) {
        const match = pattern.exec(name);
        if (match === null || match[1] !== myHost || isAlive(Number(match[2]))) continue;
        // unlink removes a name inside the folder only (a link itself, never its target).
        await fs.unlink(join(folder, name)).catch(() => undefined);
      }
    };
    await sweepIn(this.committedDir, HIDDEN_STAGING_NAME);
    await sweepIn(this.stagingDir, STAGING_NAME);
  }

  /** @internal */
  get isDurable(): boolean {
    return this.durability === 'durable';
  }

  protected async doCreate(
    identifier: string,
    options: CreateCheckpointOptions,
  ): Promise<FileUncommittedCheckpoint> {
    // The commit's link() refuses an existing name atomically, so the early look is only a
    // courtesy to writers that fill the handle over time; one-shot writers skip it.
    if (options.checkExists === false) return new FileUncommittedCheckpoint(identifier, this);
    const target = join(this.committedDir, fileName(identifier));
    const kind = await entryKind(target, identifier);
    if (kind === 'file') throw alreadyCommitted(identifier);
    if (kind !== undefined) throw damagedEntry(identifier, target, kind);
    return new FileUncommittedCheckpoint(identifier, this);
  }

  protected async doCommit(checkpoint: FileUncommittedCheckpoint): Promise<CommittedCheckpoint> {
    const { identifier } = checkpoint;
    const target = join(this.committedDir, fileName(identifier));
    const { chunks, header } = buildPack(
      identifier,
      new Date(),
      checkpoint.values,
      checkpoint.label,
    );
    // Staged in committed/ itself under a hidden name: the link below then stays within
    // one folder, and the folder fsync after it covers the staging name's removal too.
    let staging: string;
    let handle: fs.FileHandle;
    try {
      ({ path: staging, handle } = await this.stagingPool.take());
    } catch (error) {
      throw ioError('write', this.stagingPool.newPath(), error, { identifier });
    }
    // The handle returned reads through this descriptor: the file it wrote, whatever
    // another process does to the name later.
    let published = false;
    try {
      try {
        await writeChunks(handle, chunks, this.writeMaxBytes);
        // fdatasync: the data and what reading it back needs (the size), before the name
        // is published; the name itself is made durable by the folder's fsync below.
        if (this.isDurable) await handle.datasync();
      } catch (error) {
        throw ioError('write', staging, error, { identifier });
      }
      try {
        // link(), unlike rename(), refuses an existing name: the commit is exclusive.
        await fs.link(staging, target);
      } catch (error) {
        if (errorCode(error) === 'EEXIST') {
          const kind = await entryKind(target, identifier).catch(() => 'file' as const);
          throw kind === 'file' || kind === undefined
            ? alreadyCommitted(identifier)
            : damagedEntry(identifier, target, kind);
        }
        throw ioError('publish the checkpoint as', target, error, { identifier });
      }
      published = true;
    } finally {
      const unlinked = fs.unlink(staging).catch(() => undefined);
      // Once published, the staging name's removal runs beside the folder fsync: should it
      // miss that fsync and a power cut bring the name back, it is a second name of the
      // committed file, which the sweep on open deletes.
      if (!published) {
        await unlinked;
        await handle.close();
      }
    }
    if (this.isDurable) {
      try {
        await this.committedSync.sync();
      } catch (error) {
        await handle.close();
        throw ioError('make the commit durable in', this.committedDir, error, { identifier });
      }
    }
    if (fileName(identifier).startsWith('~')) await this.names.remember(identifier);
    checkpoint.values.clear(); // the handle is used up; do not hold the values twice
    return new FileCommittedCheckpoint(target, handle, header);
  }

  protected async doLoad(identifier: string): Promise<CommittedCheckpoint> {
    const path = join(this.committedDir, fileName(identifier));
    const opened = await openPack(path, identifier);
    if (opened === undefined) throw checkpointNotFound(identifier);
    const { handle, header } = opened;
    // The file name is where the caller looked; the header must agree. Otherwise a file
    // copied over another checkpoint would be served as it, and the HMAC and encryption
    // bindings, which use the handle's identifier, would vouch for it.
    if (header.identifier !== identifier) {
      await handle.close();
      throw movedPack(identifier, path, header.identifier);
    }
    return new FileCommittedCheckpoint(path, handle, header);
  }

  protected async doRemove(identifier: string): Promise<void> {
    const path = join(this.committedDir, fileName(identifier));
    try {
      // unlink removes a damaged entry (a link, a FIFO) too, never what a link points to.
      await fs.unlink(path);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') throw checkpointNotFound(identifier);
      throw ioError('remove', path, error, { identifier });
    }
    try {
      if (this.isDurable) await this.committedSync.sync();
    } catch (error) {
      throw ioError('make the removal durable in', this.committedDir, error, { identifier });
    }
  }

  protected async doList(): Promise<string[]> {
    // A copy: the cached listing is shared by later calls.
    return [...(await this.listed()).identifiers];
  }

  /**
   * The committed identifiers, sorted, from the listing of `committed/` kept while the
   * folder is unchanged (see {@link FileStorage.checkpointIdentifiersWithPrefix}).
   * @throws {CheckpointError} `Io` when `committed/` cannot be listed; `Released` once closed
   *
   * @example
   * ```ts
   * const identifiers = await storage.checkpointIdentifiers();
   * ```
   */
  override async checkpointIdentifiers(): Promise<string[]> {
    this.assertOpen();
    // Sorted when it was read: checking the order again would compare every pair of
    // neighbours, which for long shared prefixes costs more than the copy.
    return this.doList();
  }

  /**
   * The committed identifiers starting with `prefix`, in order (see {@link PrefixListing}),
   * found by binary search in the sorted listing of `committed/`. The listing is read once
   * and reused while the folder is unchanged (one `stat` per call; see
   * file-listing-cache.ts), so a series' latest checkpoint among 10,000 costs microseconds
   * and does not depend on how many other checkpoints the folder holds. Entries that are not
   * checkpoints are reported through `onDamaged`, as by `checkpointIdentifiers()`.
   * @throws {CheckpointError} `Other` for a bad option; `Io` when `committed/` cannot be
   *   listed; `Released` once closed
   *
   * @example
   * ```ts
   * const [latest] = await storage.checkpointIdentifiersWithPrefix('@series:orders:', {
   *   descending: true,
   *   limit: 1,
   * });
   * ```
   */
  async checkpointIdentifiersWithPrefix(
    prefix: string,
    options: PrefixListingOptions = {},
  ): Promise<string[]> {
    this.assertOpen();
    if (typeof prefix !== 'string') {
      throw new CheckpointError(
        'Other',
        `Listing identifiers with prefix ${String(prefix)}: the prefix is a string, such as "@series:orders:".`,
      );
    }
    selectWithPrefix([], prefix, options); // checks the options as every listing does
    const { before, limit = Infinity, descending = false } = options;
    const { identifiers } = await this.listed();
    const [from, to] = prefixRange(identifiers, prefix, before);
    const count = Math.min(limit, to - from);
    return descending
      ? identifiers.slice(to - count, to).reverse()
      : identifiers.slice(from, from + count);
  }

  /**
   * The sorted listing of `committed/`, from the cache when the folder is unchanged, its
   * damaged entries reported through `onDamaged`.
   */
  private async listed(): Promise<Listing> {
    const listing = await this.cachedListing();
    const { onDamaged } = this.options;
    if (onDamaged !== undefined) {
      for (const entry of listing.damaged) {
        try {
          onDamaged(entry);
        } catch (error) {
          throw new CheckpointError(
            'Other',
            `The onDamaged callback of FileStorage threw on entry ${quote(entry.name)}; make it return normally.`,
            { cause: error },
          );
        }
      }
    }
    return listing;
  }

  /** The sorted listing of `committed/`, from the cache when the folder is unchanged. */
  private async cachedListing(): Promise<Listing> {
    try {
      return await this.listing.get(async () => {
        const { identifiers, damaged } = await this.scan(false);
        return { identifiers: sortSharingPrefix(identifiers), damaged };
      });
    } catch (error) {
      if (error instanceof CheckpointError) throw error;
      throw ioError('list', this.committedDir, error);
    }
  }

  /**
   * The summaries of the committed checkpoints among `identifiers` (see
   * {@link SummaryListing}), read from the pack headers alone: keys, value sizes, creation
   * time and label, never a value. Up to 16 packs are read at once. A pack whose header is
   * damaged (or that holds another checkpoint, or is not a regular file) is reported in
   * `damaged` with the error loading it raises; a checkpoint that is not committed is left
   * out. Values are verified when they are read, by the wrappers, not here.
   * @throws {CheckpointError} `InvalidIdentifier` for an identifier outside the grammar;
   *   `Io` when the file system fails; `Released` once closed
   *
   * @example
   * ```ts
   * const { summaries, damaged } = await storage.summarizeCheckpoints(['order-42', 'order-43']);
   * ```
   */
  async summarizeCheckpoints(identifiers: readonly string[]): Promise<CheckpointSummaries> {
    this.assertOpen();
    for (const identifier of identifiers) assertValidName('identifier', identifier);
    const listing = await this.cachedListing();
    if (this.summarized.listing !== listing) this.summarized = { listing, byIdentifier: new Map() };
    const known = this.summarized.byIdentifier;
    const results: (CheckpointSummary | CheckpointError | undefined)[] = new Array(
      identifiers.length,
    );
    let next = 0;
    const worker = async () => {
      while (next < identifiers.length) {
        const i = next++;
        const cached = known.get(identifiers[i]);
        if (cached !== undefined) {
          results[i] = cached;
          continue;
        }
        const result = await this.summarize(identifiers[i]);
        results[i] = result;
        if (result !== undefined && !(result instanceof CheckpointError)) {
          known.set(identifiers[i], result);
        }
      }
    };
    const workers = Math.min(PARALLEL_SUMMARIES, identifiers.length);
    await Promise.all(Array.from({ length: workers }, worker));
    const out: CheckpointSummaries = { summaries: [], damaged: [] };
    results.forEach((result, i) => {
      if (result instanceof CheckpointError) {
        out.damaged.push({ identifier: identifiers[i], error: result });
      } else if (result !== undefined) {
        // A copy, so that a caller changing it changes no cached summary.
        out.summaries.push({ ...result, keys: [...result.keys], sizes: new Map(result.sizes) });
      }
    });
    return out;
  }

  /** One pack's summary; the damage error when its header cannot be read; undefined when absent. */
  private async summarize(
    identifier: string,
  ): Promise<CheckpointSummary | CheckpointError | undefined> {
    const path = join(this.committedDir, fileName(identifier));
    let opened;
    try {
      opened = await openPack(path, identifier);
    } catch (error) {
      if (error instanceof CheckpointError && error.kind === 'Deserialize') return error;
      throw error;
    }
    if (opened === undefined) return undefined;
    const { handle, header } = opened;
    await handle.close();
    if (header.identifier !== identifier) return movedPack(identifier, path, header.identifier);
    const sizes = new Map<string, number>();
    for (const [key, [, length]] of header.keys) sizes.set(key, length);
    const summary: { -readonly [K in keyof CheckpointSummary]: CheckpointSummary[K] } = {
      identifier,
      createdAt: new Date(header.createdAt),
      keys: sortNames([...sizes.keys()]),
      sizes,
    };
    if (header.label !== undefined) summary.label = header.label;
    return summary;
  }

  /**
   * The entries of `committed/` that are not readable checkpoints, each with why: links,
   * folders, FIFOs and other non-regular files, names outside the identifier grammar, and
   * pack files whose header is damaged. `checkpointIdentifiers()` skips these entries (it
   * checks names and types only, so a damaged pack with a valid name is listed there and
   * fails on load); this method opens and checks every pack, so it costs one open per
   * checkpoint. Remove what it reports by hand, or with `removeCheckpoint()` where the name
   * is a valid identifier.
   *
   * @throws {CheckpointError} `Io` when `committed/` cannot be listed
   *
   * @example
   * ```ts
   * const storage = await FileStorage.openRaw('./var/checkpoints');
   * for (const { name, reason } of await storage.listDamaged()) console.warn(name, reason);
   * ```
   */
  async listDamaged(): Promise<DamagedEntry[]> {
    this.assertOpen();
    return (await this.scan(true)).damaged;
  }

  private async scan(deep: boolean): Promise<{ identifiers: string[]; damaged: DamagedEntry[] }> {
    let entries: Dirent[];
    try {
      entries = await fs.readdir(this.committedDir, { withFileTypes: true });
    } catch (error) {
      throw ioError('list', this.committedDir, error);
    }
    const identifiers: string[] = [];
    const damaged: DamagedEntry[] = [];
    const hashed: string[] = [];
    for (const entry of entries) {
      const { name } = entry;
      // The kernel's entry type, read with the names: no extra system call.
      if (entry.isFile() && HIDDEN_STAGING_NAME.test(name)) {
        continue; // a commit in progress (or a dead one, swept on open): not a checkpoint yet
      } else if (!entry.isFile()) {
        damaged.push({ name, reason: `it is ${fileKind(entry)}, not a checkpoint file` });
      } else if (name.startsWith('~')) {
        hashed.push(name);
      } else {
        const identifier = identifierOf(name);
        const problem = identifier === undefined ? undefined : nameProblem(identifier);
        if (identifier === undefined) {
          damaged.push({ name, reason: 'its name is not one FileStorage writes' });
        } else if (problem !== undefined) {
          damaged.push({
            name,
            reason: `its name stands for ${quote(identifier)}, not a valid identifier: ${problem}`,
          });
        } else if (deep) {
          const reason = await this.packProblem(name, identifier);
          if (reason === undefined) identifiers.push(identifier);
          else damaged.push({ name, reason });
        } else {
          identifiers.push(identifier);
        }
      }
    }
    const resolved = await this.names.resolve(hashed, deep);
    identifiers.push(...resolved.identifiers);
    damaged.push(...resolved.damaged);
    return { identifiers, damaged };
  }

  /** Why the pack `name` is not a readable checkpoint `identifier`, or undefined. */
  private async packProblem(name: string, identifier: string): Promise<string | undefined> {
    return packProblem(join(this.committedDir, name), identifier);
  }

  protected async doClose(): Promise<void> {
    await this.stagingPool.close();
  }
}

/** A listing of `committed/`: the identifiers, sorted, and the entries that are not checkpoints. */
interface Listing {
  readonly identifiers: readonly string[];
  readonly damaged: readonly DamagedEntry[];
}

/** An entry of `committed/` that is not a readable checkpoint; see {@link FileStorage.listDamaged}. */
export interface DamagedEntry {
  /** The entry's file name in `committed/`. */
  readonly name: string;
  /** Why it is not a checkpoint. */
  readonly reason: string;
}

/**
 * An uncommitted checkpoint of a {@link FileStorage}: its values stay in this process until
 * the commit writes them as one file, so a crash before commit leaves nothing on disk.
 */
export class FileUncommittedCheckpoint extends BufferedUncommittedCheckpoint {}

/** Packs whose headers {@link FileStorage.summarizeCheckpoints} reads at once. */
const PARALLEL_SUMMARIES = 16;

/** The `Integrity` error for a pack that holds another checkpoint than its name says. */
function movedPack(identifier: string, path: string, holds: string): CheckpointError {
  return new CheckpointError(
    'Integrity',
    `The file of checkpoint ${quote(identifier)} (${path}) holds checkpoint ${quote(holds)}: it was moved or copied there. Restore the right file from a backup or remove the checkpoint.`,
    { identifier },
  );
}

/**
 * `names` in the order of sortNames (UTF-16 code units), faster when they share a long
 * prefix (`tenant-4711/orders/...`): the prefix is set aside, so that comparisons start
 * where the names differ. Sorting 10,000 names that share 224 characters otherwise costs
 * more than the rest of a listing.
 */
function sortSharingPrefix(names: string[]): string[] {
  if (names.length < 2) return names;
  // The prefix all names share is the one the smallest and the largest share.
  let min = names[0];
  let max = names[0];
  for (const name of names) {
    if (name < min) min = name;
    else if (name > max) max = name;
  }
  let same = 0;
  const limit = Math.min(min.length, max.length);
  while (same < limit && min.charCodeAt(same) === max.charCodeAt(same)) same++;
  // Without a comparator, sort() compares strings by UTF-16 code units, as sortNames does.
  if (same < 16) return names.sort();
  const prefix = min.slice(0, same);
  return names
    .map((name) => name.slice(same))
    .sort()
    .map((rest) => prefix + rest);
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
