import type { ClassType } from '../codec/restore-as';

export type { ClassType };

/**
 * Options of {@link Storage.createCheckpoint}.
 *
 * @example
 * ```ts
 * const draft = await storage.createCheckpoint('order-42', { checkExists: false });
 * ```
 */
export interface CreateCheckpointOptions {
  /**
   * `true` (default): fail with `AlreadyExists` at once when the identifier is committed.
   * `false`: leave that to the commit, which refuses it atomically anyway; saves the check's
   * round trip on PostgreSQL and Redis.
   */
  checkExists?: boolean;
}

/**
 * A medium that holds checkpoints: memory, files, PostgreSQL, Redis, or a wrapper that
 * adds checks to another storage. Every implementation obeys the same rules, proven by
 * the conformance suite in `checkpointable/testing`.
 *
 * @example
 * ```ts
 * const storage = await FileStorage.open('./var/checkpoints');
 * const draft = await storage.createCheckpoint('nightly');
 * await draft.put('settings', { retries: 3 });
 * const saved = await storage.commitCheckpoint(draft);
 * console.log(await saved.get('settings'));
 * await saved.release();
 * ```
 */
export interface Storage {
  /**
   * Opens a new uncommitted checkpoint.
   * @param options `{ checkExists: false }` skips the early check that `identifier` is not
   *   committed yet (a round trip on database backends); the commit still refuses an
   *   existing identifier with `AlreadyExists`, atomically. For writers that build every
   *   value before they commit. Storages may ignore it and check anyway.
   * @throws {CheckpointError} `InvalidIdentifier`; `AlreadyExists` when `identifier` is committed
   *   (or, under a GuardWrapper, open)
   */
  createCheckpoint(
    identifier: string,
    options?: CreateCheckpointOptions,
  ): Promise<UncommittedCheckpoint>;
  /**
   * Makes every key of `checkpoint` visible at once. The handle is used up: it fails with
   * `Released` afterwards. If the commit fails, the handle stays open so the caller can
   * retry or discard it.
   * @throws {CheckpointError} `AlreadyExists` when the identifier was committed meanwhile
   */
  commitCheckpoint(checkpoint: UncommittedCheckpoint): Promise<CommittedCheckpoint>;
  /**
   * Opens a committed checkpoint for reading.
   * @throws {CheckpointError} `NotFound`
   */
  loadCheckpoint(identifier: string): Promise<CommittedCheckpoint>;
  /**
   * Deletes a committed checkpoint.
   * @throws {CheckpointError} `NotFound`; `InUse` under a GuardWrapper while a handle holds it
   */
  removeCheckpoint(identifier: string): Promise<void>;
  /** The identifiers of committed checkpoints, sorted ascending (JavaScript string order). */
  checkpointIdentifiers(): Promise<string[]>;
  /** Releases what the storage holds (connections, file handles). Idempotent. */
  close(): Promise<void>;
}

/**
 * A checkpoint being written. Nothing in it is visible to `loadCheckpoint` until
 * {@link Storage.commitCheckpoint} resolves.
 *
 * @example
 * ```ts
 * await using draft = await storage.createCheckpoint('order-42');
 * await draft.put('order', order); // encoded now: later changes to `order` are not stored
 * await storage.commitCheckpoint(draft);
 * ```
 */
export interface UncommittedCheckpoint extends AsyncDisposable {
  /** The checkpoint's identifier. */
  readonly identifier: string;
  /** Stores a snapshot of `value` under `key`, replacing any earlier value silently. */
  put(key: string, value: unknown): Promise<void>;
  /** Reads back a value put earlier, optionally as an instance of `type`. */
  get<T = unknown>(key: string, type?: ClassType<T>): Promise<T>;
  /** Deletes a key. @throws {CheckpointError} `KeyNotFound` */
  remove(key: string): Promise<void>;
  /** The keys put so far, sorted ascending. */
  keys(): Promise<string[]>;
  /** Abandons the checkpoint and everything put into it. Idempotent once discarded. */
  discard(): Promise<void>;
  /**
   * Attaches a short text (at most 65,536 characters) that listings return without
   * reading values: `CheckpointManager` keeps the classes and versions inside there.
   * Optional: storages that cannot keep one leave it out. Not authenticated by wrappers.
   */
  setLabel?(label: string): void;
  /** Stores raw bytes under `key` (no codec): what wrappers and byte-level tools use. */
  putBytes(key: string, bytes: Uint8Array): Promise<void>;
  /** Reads the raw bytes stored under `key`. */
  getBytes(key: string): Promise<Uint8Array>;
}

/**
 * A committed, read-only checkpoint. Release it when done (or use `await using`), so
 * that a {@link GuardWrapper} lets it be removed.
 *
 * @example
 * ```ts
 * await using saved = await storage.loadCheckpoint('order-42');
 * const order = await saved.get('order', Order);
 * ```
 */
export interface CommittedCheckpoint extends AsyncDisposable {
  /** The checkpoint's identifier. */
  readonly identifier: string;
  /** When the checkpoint was committed, as recorded by the storage. */
  readonly createdAt: Date;
  /** The label given before the commit (`setLabel`), when the storage keeps labels. */
  readonly label?: string;
  /** Reads a value, optionally as an instance of `type`. @throws {CheckpointError} `KeyNotFound` */
  get<T = unknown>(key: string, type?: ClassType<T>): Promise<T>;
  /** The keys of the checkpoint, sorted ascending. */
  keys(): Promise<string[]>;
  /** Gives the handle back. Idempotent. */
  release(): Promise<void>;
  /** Reads the raw bytes stored under `key`. */
  getBytes(key: string): Promise<Uint8Array>;
}
