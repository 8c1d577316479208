import { inject, injectable } from 'tsyringe';
import type { ClassType } from '../codec/restore-as';
import { decodeValue, restoreAs } from '../decorators/registry-codec';
import { metadataRegistry } from '../decorators/metadata-registry';
import { CHECKPOINT_STORAGE } from './checkpoint-storage-token';
import { CheckpointError, quote } from '../errors';
import { assertValidName, sortNames } from '../storage/names';
import type { CommittedCheckpoint, CreateCheckpointOptions, Storage } from '../storage/storage';
import {
  CheckpointTransaction,
  encodeEntry,
  type CheckpointInfo,
  type EncodedEntry,
} from './checkpoint-transaction';
import {
  CheckpointEventEmitter,
  errorKindOf,
  type CheckpointEvents,
  type CheckpointListener,
} from './checkpoint-events';
import { MANIFEST_KEY } from './manifest';
import { CheckpointSeries, type SeriesOptions } from './checkpoint-series';
import { listIdentifiersWithPrefix } from '../storage/prefix-listing';
import {
  isSeriesIdentifier,
  parseSeriesIdentifier,
  reservedIdentifier,
  SERIES_PREFIX,
} from './series-identifier';
import { describeCheckpoints } from './checkpoint-description';
import type {
  CheckpointInstrumentation,
  CheckpointOperation,
  OperationAttributes,
  OperationScope,
} from '../telemetry/checkpoint-instrumentation';
import { InstrumentedStorage } from '../telemetry/instrumented-storage';
import { storageAttributes } from '../telemetry/storage-kind';

/** The scope handed to work that runs without an instrumentation. */
const NO_SCOPE: OperationScope = { set() {} };

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
  /**
   * Identifiers that could not be read (damaged, tampered with, unknown format), so their
   * age is unknown and they were neither kept nor removed; each also raised a `damaged`
   * event. Inspect or remove them by hand.
   */
  damaged: string[];
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
  readonly #events = new CheckpointEventEmitter();
  #instrumentation: CheckpointInstrumentation | undefined;
  #storageAttributes: OperationAttributes = {};
  readonly #beforeClose = new Set<() => Promise<void>>();
  #closing: Promise<void> | undefined;
  #closed = false;

  /**
   * @param storage the storage (with its wrapper chain) to keep checkpoints in; the manager
   *   closes it on {@link close}
   */
  constructor(@inject(CHECKPOINT_STORAGE) private storage: Storage) {}

  /**
   * Reports every operation from now on to `instrumentation`: `save` and `restore` here,
   * and `commit`, `load`, `remove` and `list` of the storage, which the manager wraps in an
   * {@link InstrumentedStorage}. Call it once, before the manager is used.
   * `checkpointable/opentelemetry` provides the OpenTelemetry instrumentation.
   *
   * @returns this manager
   *
   * @example
   * ```ts
   * import { openTelemetry } from 'checkpointable/opentelemetry';
   * const manager = new CheckpointManager(storage).instrument(openTelemetry());
   * ```
   */
  instrument(instrumentation: CheckpointInstrumentation): this {
    this.#assertOpen();
    this.#instrumentation = instrumentation;
    const inner = this.storage instanceof InstrumentedStorage ? this.storage.inner : this.storage;
    this.#storageAttributes = storageAttributes(inner);
    this.storage = new InstrumentedStorage(inner, instrumentation);
    return this;
  }

  /**
   * Reports an event of a layer built on the manager (series, automatic state) to the
   * manager's listeners and instrumentation.
   * @internal
   */
  report<E extends 'autosave-failed' | 'conflict'>(event: E, payload: CheckpointEvents[E]): void {
    if (event === 'autosave-failed') {
      const failed = payload as CheckpointEvents['autosave-failed'];
      this.#instrumentation?.autosaveFailed?.({
        ...this.#storageAttributes,
        'checkpoint.series': failed.series,
        'error.type': failed.errorKind,
      });
    }
    this.#events.emit(event, payload);
  }

  /** Runs `work` as a traced operation when an instrumentation is set, else just runs it. */
  #traced<T>(
    name: CheckpointOperation,
    attributes: OperationAttributes,
    work: (scope: OperationScope) => Promise<T>,
  ): Promise<T> {
    const instrumentation = this.#instrumentation;
    if (instrumentation === undefined) return work(NO_SCOPE);
    return instrumentation.operation(name, { ...this.#storageAttributes, ...attributes }, work);
  }

  /**
   * Calls `listener` for every `event` from now on: `save`, `restore`, `remove`, `prune`,
   * `damaged` for each checkpoint that listing skipped because it cannot be read,
   * `conflict` for a stale series writer and `autosave-failed` for automatic state.
   * A listener that throws never breaks the operation; its error becomes a process warning.
   *
   * @returns a function that removes the listener
   *
   * @example
   * ```ts
   * const off = manager.on('save', ({ identifier, bytes, durationMs }) =>
   *   logger.info(`saved ${identifier}: ${bytes} bytes in ${durationMs} ms`));
   * manager.on('damaged', ({ identifier, message }) => logger.error(message));
   * off();
   * ```
   */
  on<E extends keyof CheckpointEvents>(event: E, listener: CheckpointListener<E>): () => void {
    return this.#events.on(event, listener);
  }

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
    const started = performance.now();
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
      this.#report('save', started, { identifier, keys: 0, bytes: 0 }, error);
      return Promise.reject(error);
    }
    return this.#commitEntries(identifier, entries, started);
  }

  async #commitEntries(
    identifier: string,
    entries: EncodedEntry[],
    started: number,
  ): Promise<CheckpointInfo> {
    const bytes = entries.reduce((sum, entry) => sum + entry.bytes.length, 0);
    const attributes = {
      'checkpoint.identifier': identifier,
      'checkpoint.keys': entries.length,
      'checkpoint.bytes': bytes,
    };
    try {
      const info = await this.#traced('save', attributes, async () => {
        // Every value is encoded already: the commit's own refusal of an existing
        // identifier is enough, and the early check would cost a round trip.
        const tx = await this.#begin(identifier, { checkExists: false });
        try {
          for (const entry of entries) await tx.write(entry);
          return await tx.commit();
        } finally {
          await tx.discard();
        }
      });
      this.#report('save', started, { identifier, keys: entries.length, bytes });
      return info;
    } catch (error) {
      this.#report('save', started, { identifier, keys: entries.length, bytes }, error);
      throw error;
    }
  }

  /**
   * Emits `event` for an operation that began at `started`: its own fields, how long it
   * took, and, when it failed, the error and its kind. Costs nothing when nobody listens.
   */
  #report<E extends 'save' | 'restore' | 'remove'>(
    event: E,
    started: number,
    fields: Omit<CheckpointEvents[E], 'durationMs' | 'errorKind' | 'error'>,
    error?: unknown,
  ): void {
    if (!this.#events.has(event)) return;
    const durationMs = performance.now() - started;
    this.#events.emit(
      event,
      (error === undefined
        ? { ...fields, durationMs }
        : { ...fields, durationMs, errorKind: errorKindOf(error), error }) as CheckpointEvents[E],
    );
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
    const started = performance.now();
    let bytes = 0;
    try {
      const attributes = { 'checkpoint.identifier': identifier, 'checkpoint.key': key };
      const value = await this.#traced('restore', attributes, (scope) =>
        this.#read(identifier, async (saved) => {
          const stored = await saved.getBytes(key);
          bytes = stored.length;
          scope.set({ 'checkpoint.bytes': bytes });
          const context = { identifier, key };
          // The bytes were just read for this call and nobody else holds them.
          const decoded = decodeValue(stored, context, { owned: true });
          return type === undefined ? (decoded as T) : restoreAs(decoded, type, context);
        }),
      );
      this.#report('restore', started, { identifier, key, bytes });
      return value;
    } catch (error) {
      this.#report('restore', started, { identifier, key, bytes }, error);
      throw error;
    }
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
    const started = performance.now();
    let bytes: Uint8Array | undefined;
    try {
      const attributes = { 'checkpoint.identifier': identifier, 'checkpoint.key': key };
      bytes = await this.#traced('restore', attributes, async (scope) => {
        const stored = await this.#read(identifier, (saved) => saved.getBytes(key));
        scope.set({ 'checkpoint.bytes': stored.length });
        const context = { identifier, key };
        const mismatch = (what: string) =>
          `Cannot restore key ${quote(key)} of checkpoint ${quote(identifier)} into an instance of ${plan.name}: it holds ${what}. Restore it with manager.restore(${quote(identifier)}, ${quote(key)}) instead.`;
        decodeValue(stored, context, { into: target, mismatch });
        return stored;
      });
    } catch (error) {
      this.#report('restore', started, { identifier, key, bytes: bytes?.length ?? 0 }, error);
      throw error;
    }
    this.#report('restore', started, { identifier, key, bytes: bytes.length });
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
    return this.#begin(identifier, {});
  }

  async #begin(
    identifier: string,
    options: CreateCheckpointOptions,
  ): Promise<CheckpointTransaction> {
    this.#assertOpen();
    const draft = await this.storage.createCheckpoint(identifier, options);
    const tx = new CheckpointTransaction(this.storage, draft, (t) => this.#transactions.delete(t));
    this.#transactions.add(tx);
    return tx;
  }

  /**
   * The committed checkpoints, oldest first, with their creation time, keys and the
   * `@Checkpointable` classes inside: `classes` by name, `classVersions` with the version
   * each was saved at (read from each checkpoint's manifest; checkpoints written without
   * the manager list their keys and no classes).
   *
   * A checkpoint that cannot be read (damaged, tampered with, in a format this code does
   * not know) is left out of the list and reported through the `damaged` event, never
   * silently; a failing medium (`Io`) still fails the call.
   *
   * @example
   * ```ts
   * for (const { identifier, createdAt, classVersions } of await manager.list()) {
   *   const classes = classVersions.map((c) => `${c.name}@${c.version}`);
   *   console.log(identifier, createdAt.toISOString(), classes.join(', '));
   * }
   * ```
   */
  async list(): Promise<CheckpointInfo[]> {
    return (await this.#listReadable()).infos;
  }

  /** The readable checkpoints, oldest first, and the identifiers of those that are not. */
  async #listReadable(): Promise<{ infos: CheckpointInfo[]; damaged: string[] }> {
    this.#assertOpen();
    const out: CheckpointInfo[] = [];
    const damaged: string[] = [];
    const report = (identifier: string, error: CheckpointError) => {
      damaged.push(identifier);
      this.#events.emit('damaged', {
        identifier,
        errorKind: error.kind,
        message: error.message,
        error,
      });
    };
    const identifiers = await this.storage.checkpointIdentifiers();
    const found = await describeCheckpoints(this.storage, identifiers);
    for (const { identifier, error } of found.damaged) report(identifier, error);
    out.push(...found.infos);
    const infos = out.sort(
      (a, b) =>
        a.createdAt.getTime() - b.createdAt.getTime() ||
        (a.identifier < b.identifier ? -1 : a.identifier > b.identifier ? 1 : 0),
    );
    return { infos, damaged };
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
    const started = performance.now();
    try {
      await this.storage.removeCheckpoint(identifier);
    } catch (error) {
      this.#report('remove', started, { identifier }, error);
      throw error;
    }
    this.#report('remove', started, { identifier });
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
    const started = performance.now();
    const { infos: all, damaged } = await this.#listReadable(); // oldest first
    const due = all.slice(0, Math.max(0, all.length - (keepLast ?? 0)));
    const result: PruneResult = { removed: [], inUse: [], damaged };
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
    this.#events.emit('prune', {
      removed: result.removed,
      inUse: result.inUse,
      durationMs: performance.now() - started,
    });
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
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const manager = this;
    return new CheckpointSeries(name, options, {
      manager,
      // Read at each use, so that instrument() after series() still covers the series.
      get storage() {
        return manager.storage;
      },
      commit: (identifier, entries) => this.#commitEntries(identifier, entries, performance.now()),
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
