import { inject, injectable } from 'tsyringe';
import { decodeValue } from '../codec/decoder';
import type { ClassType } from '../codec/restore-as';
import { metadataRegistry } from '../decorators/metadata-registry';
import { CHECKPOINT_STORAGE } from '../di/checkpoint-storage-token';
import { CheckpointError, quote } from '../errors';
import { assertValidName, sortNames } from '../storage/names';
import type { CommittedCheckpoint, Storage } from '../storage/storage';
import {
  CheckpointTransaction,
  encodeEntry,
  type CheckpointInfo,
  type EncodedEntry,
} from './checkpoint-transaction';
import { MANIFEST_KEY, parseManifest } from './manifest';
import { CheckpointSeries, type SeriesOptions } from './checkpoint-series';
import { listIdentifiersWithPrefix } from '../storage/prefix-listing';
import {
  isSeriesIdentifier,
  parseSeriesIdentifier,
  reservedIdentifier,
  SERIES_PREFIX,
} from './series-identifier';

/**
 * Options of {@link CheckpointManager.prune}; a checkpoint is removed when no rule keeps it.
 *
 * @example
 * ```ts
 * const options: PruneOptions = { keepLast: 10, olderThan: new Date('2026-01-01') };
 * ```
 */
export interface PruneOptions {
  /** Keep the newest `keepLast` checkpoints (by creation time), whatever their age. */
  keepLast?: number;
  /**
   * Remove only checkpoints created before this moment: a `Date`, or an age in
   * milliseconds (`olderThan: 7 * 24 * 3600_000` removes those older than a week).
   */
  olderThan?: Date | number;
}

/**
 * What {@link CheckpointManager.prune} did.
 *
 * @example
 * ```ts
 * const { removed, inUse } = await manager.prune({ keepLast: 3 });
 * ```
 */
export interface PruneResult {
  /** The identifiers removed, oldest first. */
  removed: string[];
  /** Identifiers that were due but are held by a live handle (GuardWrapper), so kept. */
  inUse: string[];
}

/**
 * Saves and restores application objects in checkpoints: the one object a service needs.
 * Every value is snapshotted when handed over and a checkpoint is committed atomically.
 * Each key is encoded on its own, so an object reachable from two keys of one save comes
 * back as two separate copies (see the README, "Shared references across keys"); within a
 * key, shared references and cycles come back as the same objects.
 *
 * Closing the manager (`close()`, or `container.dispose()` when it came from
 * `registerCheckpointing`) discards open transactions and closes the storage.
 *
 * @example
 * ```ts
 * const manager = new CheckpointManager(MemoryStorage.create()); // or container.resolve(CheckpointManager)
 * await manager.save('order-42', { order, customer });
 * const restored = await manager.restore('order-42', 'order', Order);
 * ```
 */
@injectable()
export class CheckpointManager implements AsyncDisposable {
  readonly #transactions = new Set<CheckpointTransaction>();
  readonly #beforeClose = new Set<() => Promise<void>>();
  #closing: Promise<void> | undefined;
  #closed = false;

  /**
   * @param storage the storage (with its wrapper chain) to keep checkpoints in; the manager
   *   closes it on {@link close}
   */
  constructor(@inject(CHECKPOINT_STORAGE) private readonly storage: Storage) {}

  /**
   * Snapshots every value of `values` (one key each) and commits them as the checkpoint
   * `identifier`, all or nothing. Every value is encoded before this returns its promise.
   *
   * @throws {CheckpointError} `Serialize` naming the path to a value that cannot be saved (an
   *   instance of a class without `@Checkpointable`, a function, ...), `AlreadyExists`,
   *   `InvalidIdentifier` (also for identifiers starting with `@series:`, which belong to
   *   {@link series}); nothing is committed then
   *
   * @example
   * ```ts
   * const info = await manager.save('order-42', { order, customer });
   * info.classes; // ['Customer', 'LineItem', 'Order']
   * ```
   */
  save(identifier: string, values: Record<string, unknown>): Promise<CheckpointInfo> {
    let entries: EncodedEntry[];
    try {
      this.#assertOpen();
      assertValidName('identifier', identifier);
      if (isSeriesIdentifier(identifier)) throw reservedIdentifier(identifier, 'save');
      if (values === null || typeof values !== 'object' || Array.isArray(values)) {
        throw new CheckpointError(
          'Serialize',
          `save(${quote(identifier)}, values) takes an object of keys to values, as in save(${quote(identifier)}, { order }); got ${values === null ? 'null' : Array.isArray(values) ? 'an array' : `a ${typeof values}`}.`,
          { identifier },
        );
      }
      // All keys are encoded now, together: the snapshot is of one moment.
      entries = Object.keys(values).map((key) => encodeEntry(identifier, key, values[key]));
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#commitEntries(identifier, entries);
  }

  async #commitEntries(identifier: string, entries: EncodedEntry[]): Promise<CheckpointInfo> {
    const tx = await this.#begin(identifier);
    try {
      for (const entry of entries) await tx.write(entry);
      return await tx.commit();
    } finally {
      await tx.discard();
    }
  }

  /**
   * Restores the value saved under `key`. With `type`, the value must be an instance of it
   * (or of a subclass); a class that only carries class-transformer decorators is rebuilt
   * with `plainToInstance`.
   *
   * @throws {CheckpointError} `NotFound`, `KeyNotFound`; `Deserialize` when the value is not
   *   a `type` or names a class not registered in this process; `Version` when it is newer
   *   than the code or a migration step is missing
   *
   * @example
   * ```ts
   * const order = await manager.restore('order-42', 'order', Order);
   * ```
   */
  async restore<T = unknown>(identifier: string, key: string, type?: ClassType<T>): Promise<T> {
    return this.#read(identifier, (saved) => saved.get<T>(key, type));
  }

  /**
   * Restores every key of a checkpoint into one object (the manifest key left out).
   * Each key is decoded on its own: an object saved under two keys comes back as two copies.
   *
   * @throws {CheckpointError} `NotFound`; as {@link restore} for each value
   *
   * @example
   * ```ts
   * const { order, customer } = await manager.restoreAll('order-42');
   * ```
   */
  async restoreAll(identifier: string): Promise<Record<string, unknown>> {
    return this.#read(identifier, async (saved) => {
      const entries: [string, unknown][] = [];
      for (const key of await saved.keys()) {
        if (key !== MANIFEST_KEY) entries.push([key, await saved.get(key)]);
      }
      // fromEntries defines own properties, so a key named "__proto__" stays a plain key.
      return Object.fromEntries(entries);
    });
  }

  /**
   * Restores the instance saved under `key` into an existing object of the same
   * `@Checkpointable` class (a DI-managed singleton, say): its saved fields are assigned,
   * other properties are left alone, and references inside the saved graph back to the
   * saved object land on `target`.
   *
   * @throws {CheckpointError} `Metadata` when `target`'s class is not `@Checkpointable`;
   *   `Deserialize` when the key holds something else than an instance of that class
   *
   * @example
   * ```ts
   * await manager.restoreInto('state', 'cart', this.cart);
   * ```
   */
  async restoreInto<T extends object>(identifier: string, key: string, target: T): Promise<T> {
    this.#assertOpen();
    const plan = metadataRegistry.planOf(target.constructor);
    const bytes = await this.#read(identifier, (saved) => saved.getBytes(key));
    const context = { identifier, key };
    const mismatch = (stored: string) =>
      `Cannot restore key ${quote(key)} of checkpoint ${quote(identifier)} into an instance of ${plan.name}: it holds ${stored}. Restore it with manager.restore(${quote(identifier)}, ${quote(key)}) instead.`;
    decodeValue(bytes, context, { into: target, mismatch });
    return target;
  }

  /**
   * Opens a transaction: add values one by one, then commit them all at once.
   * @throws {CheckpointError} `AlreadyExists`, `InvalidIdentifier` (also for identifiers
   *   starting with `@series:`, which belong to {@link series})
   *
   * @example
   * ```ts
   * const tx = await manager.begin('nightly');
   * for (const [id, order] of orders) await tx.add(id, order);
   * await tx.commit();
   * ```
   */
  async begin(identifier: string): Promise<CheckpointTransaction> {
    this.#assertOpen();
    if (isSeriesIdentifier(identifier)) throw reservedIdentifier(identifier, 'begin');
    return this.#begin(identifier);
  }

  async #begin(identifier: string): Promise<CheckpointTransaction> {
    this.#assertOpen();
    const draft = await this.storage.createCheckpoint(identifier);
    const tx = new CheckpointTransaction(this.storage, draft, (t) => this.#transactions.delete(t));
    this.#transactions.add(tx);
    return tx;
  }

  /**
   * The committed checkpoints, oldest first, with their creation time, keys and the
   * `@Checkpointable` classes inside (read from each checkpoint's manifest; checkpoints
   * written without the manager list their keys and no classes).
   *
   * @example
   * ```ts
   * for (const { identifier, createdAt, classes } of await manager.list()) {
   *   console.log(identifier, createdAt.toISOString(), classes.join(', '));
   * }
   * ```
   */
  async list(): Promise<CheckpointInfo[]> {
    this.#assertOpen();
    const out: CheckpointInfo[] = [];
    for (const identifier of await this.storage.checkpointIdentifiers()) {
      let saved: CommittedCheckpoint;
      try {
        saved = await this.storage.loadCheckpoint(identifier);
      } catch (error) {
        if (CheckpointError.is(error, 'NotFound')) continue; // removed meanwhile
        throw error;
      }
      try {
        const keys = await saved.keys();
        const manifest = keys.includes(MANIFEST_KEY)
          ? parseManifest(await saved.get(MANIFEST_KEY))
          : undefined;
        out.push({
          identifier,
          createdAt: saved.createdAt,
          keys: keys.filter((k) => k !== MANIFEST_KEY),
          classes: manifest?.classes.map((c) => c.name) ?? [],
        });
      } finally {
        await saved.release();
      }
    }
    return out.sort(
      (a, b) =>
        a.createdAt.getTime() - b.createdAt.getTime() ||
        (a.identifier < b.identifier ? -1 : a.identifier > b.identifier ? 1 : 0),
    );
  }

  /**
   * Removes a committed checkpoint.
   * @throws {CheckpointError} `NotFound`; `InUse` while a handle holds it (GuardWrapper)
   *
   * @example
   * ```ts
   * await manager.remove('order-41');
   * ```
   */
  async remove(identifier: string): Promise<void> {
    this.#assertOpen();
    await this.storage.removeCheckpoint(identifier);
  }

  /**
   * Removes old checkpoints: those not among the newest `keepLast` and, when `olderThan`
   * is given, created before it. A checkpoint a live handle holds is skipped and reported.
   *
   * @throws {CheckpointError} `Other` when neither rule is given or a rule is not a number/Date
   *
   * @example
   * ```ts
   * await manager.prune({ keepLast: 10 });                         // the newest 10 stay
   * await manager.prune({ keepLast: 3, olderThan: 24 * 3600_000 }); // keep 3, and the last day
   * ```
   */
  async prune(options: PruneOptions): Promise<PruneResult> {
    this.#assertOpen();
    const { keepLast, olderThan } = options ?? {};
    if (keepLast === undefined && olderThan === undefined) {
      throw new CheckpointError(
        'Other',
        'prune() needs keepLast, olderThan or both, as in prune({ keepLast: 10 }); it removes nothing without a rule.',
      );
    }
    if (keepLast !== undefined && (!Number.isSafeInteger(keepLast) || keepLast < 0)) {
      throw new CheckpointError(
        'Other',
        `prune({ keepLast: ${String(keepLast)} }): keepLast is the number of newest checkpoints to keep, an integer 0 or more.`,
      );
    }
    let cutoff: number | undefined;
    if (olderThan instanceof Date && !Number.isNaN(olderThan.getTime())) {
      cutoff = olderThan.getTime();
    } else if (typeof olderThan === 'number' && olderThan >= 0 && Number.isFinite(olderThan)) {
      cutoff = Date.now() - olderThan;
    } else if (olderThan !== undefined) {
      throw new CheckpointError(
        'Other',
        `prune({ olderThan: ${String(olderThan)} }): olderThan is a Date or an age in milliseconds (0 or more).`,
      );
    }
    const all = await this.list(); // oldest first
    const due = all.slice(0, Math.max(0, all.length - (keepLast ?? 0)));
    const result: PruneResult = { removed: [], inUse: [] };
    for (const { identifier, createdAt } of due) {
      if (cutoff !== undefined && createdAt.getTime() >= cutoff) continue;
      try {
        await this.storage.removeCheckpoint(identifier);
        result.removed.push(identifier);
      } catch (error) {
        if (CheckpointError.is(error, 'InUse')) result.inUse.push(identifier);
        else if (!CheckpointError.is(error, 'NotFound')) throw error;
      }
    }
    return result;
  }

  /**
   * A named history of checkpoints in this storage: the library picks identifiers
   * (`@series:<name>:<sequence>`), applies retention after each save and turns a stale
   * writer into a `Conflict`. Each call returns a new handle.
   *
   * @throws {CheckpointError} `InvalidIdentifier` for a bad name (identifier grammar, no
   *   `:`, at most 200 characters); `Other` for a bad option
   *
   * @example
   * ```ts
   * const orders = manager.series('orders', { keepLast: 10 });
   * await orders.save({ book });
   * ```
   */
  series(name: string, options: SeriesOptions = {}): CheckpointSeries {
    this.#assertOpen();
    return new CheckpointSeries(name, options, {
      manager: this,
      storage: this.storage,
      commit: (identifier, entries) => this.#commitEntries(identifier, entries),
    });
  }

  /**
   * The names of the series with at least one checkpoint, sorted. Reads identifiers only.
   *
   * @throws {CheckpointError} `Integrity` when an identifier in the reserved `@series:`
   *   namespace is malformed (it was not written by a series)
   *
   * @example
   * ```ts
   * await manager.seriesNames(); // ['audit', 'orders']
   * ```
   */
  async seriesNames(): Promise<string[]> {
    this.#assertOpen();
    const names = new Set<string>();
    for (const identifier of await listIdentifiersWithPrefix(this.storage, SERIES_PREFIX)) {
      const parsed = parseSeriesIdentifier(identifier);
      if (parsed === undefined) {
        throw new CheckpointError(
          'Integrity',
          `The storage holds ${quote(identifier)} in the reserved ${quote(SERIES_PREFIX)} namespace, but it is not a series identifier; it was not written by a series. Remove it with manager.remove(${quote(identifier)}).`,
          { identifier },
        );
      }
      names.add(parsed.series);
    }
    // Sorted again: '@series:a-b:' lists before '@series:a:', but 'a' sorts before 'a-b'.
    return sortNames([...names]);
  }

  /**
   * Runs `hook` at the start of {@link close}, while the manager is still open (final saves
   * of automatic state); returns a function that unregisters it.
   * @internal
   */
  beforeClose(hook: () => Promise<void>): () => void {
    this.#beforeClose.add(hook);
    return () => this.#beforeClose.delete(hook);
  }

  /**
   * Discards open transactions and closes the storage. Idempotent; afterwards every method
   * fails with `Released`.
   *
   * @example
   * ```ts
   * process.on('SIGTERM', () => void manager.close());
   * ```
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const failures: unknown[] = [];
    for (const hook of [...this.#beforeClose]) await hook().catch((e: unknown) => failures.push(e));
    this.#beforeClose.clear();
    this.#closed = true;
    for (const tx of [...this.#transactions]) await tx.discard();
    await this.storage.close();
    if (failures.length > 0) throw failures[0];
  }

  /**
   * The same as {@link close}: tsyringe's `container.dispose()` calls it.
   * @example
   * ```ts
   * await container.dispose(); // calls manager.dispose()
   * ```
   */
  dispose(): Promise<void> {
    return this.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #read<R>(identifier: string, work: (saved: CommittedCheckpoint) => Promise<R>): Promise<R> {
    this.#assertOpen();
    const saved = await this.storage.loadCheckpoint(identifier);
    try {
      return await work(saved);
    } finally {
      await saved.release();
    }
  }

  #assertOpen(): void {
    if (!this.#closed) return;
    throw new CheckpointError(
      'Released',
      'This CheckpointManager was closed (manager.close() or container.dispose()), and its storage with it; register checkpointing again or create a new manager over an open storage.',
    );
  }
}
