import type { ClassType } from '../codec/restore-as';
import { CheckpointError, quote } from '../errors';
import { checkpointNotFound } from '../storage/base-storage';
import { listIdentifiersWithPrefix } from '../storage/prefix-listing';
import type { Storage } from '../storage/storage';
import type { CheckpointManager, PruneResult } from './checkpoint-manager';
import { describeCheckpoints } from './checkpoint-description';
import { encodeEntry, type CheckpointInfo, type EncodedEntry } from './checkpoint-transaction';
import { seriesConflict } from './series-conflict';
import {
  assertValidSeriesName,
  formatSeriesIdentifier,
  MAX_SEQUENCE,
  parseSeriesIdentifier,
  SERIES_PREFIX,
} from './series-identifier';

/**
 * Options of `manager.series(name, options)`.
 *
 * @example
 * ```ts
 * const options: SeriesOptions = { keepLast: 10, olderThan: 7 * 24 * 3600_000 };
 * ```
 */
export interface SeriesOptions {
  /** After each save, keep the newest `keepLast` checkpoints of the series (1 or more). */
  keepLast?: number;
  /**
   * After each save, remove checkpoints of the series created before this moment: a
   * `Date`, or an age in milliseconds. With `keepLast` too, only those beyond the newest
   * `keepLast` go. The newest checkpoint always stays.
   */
  olderThan?: Date | number;
  /**
   * What `save()` does when the series moved on since this handle last looked:
   * `'fail'` (default) rejects with `Conflict`; `'overwrite-latest'` saves under the next
   * free sequence number, for single-writer apps that do not care.
   */
  onConflict?: 'fail' | 'overwrite-latest';
}

/**
 * A checkpoint of a series: what `list()` says of it, plus its series and sequence number.
 *
 * @example
 * ```ts
 * const { series, sequence, identifier } = await orders.save({ book });
 * ```
 */
export interface SeriesCheckpointInfo extends CheckpointInfo {
  /** The series name. */
  series: string;
  /** The checkpoint's sequence number in the series, from 1. */
  sequence: number;
}

/**
 * What `save()` did: the checkpoint committed, and what retention removed afterwards.
 *
 * @example
 * ```ts
 * const saved = await orders.save({ book });
 * if (saved.retention.error) console.warn(saved.retention.error.message);
 * ```
 */
export interface SeriesSaveInfo extends SeriesCheckpointInfo {
  /**
   * The checkpoints retention removed, those it kept because a handle holds them, and the
   * error that stopped it, if any (the new checkpoint is committed all the same).
   */
  retention: PruneResult & { error?: CheckpointError };
}

/**
 * Options of {@link CheckpointSeries.history}.
 *
 * @example
 * ```ts
 * await orders.history({ limit: 20, before: 120 });
 * ```
 */
export interface SeriesHistoryOptions {
  /** At most this many checkpoints. */
  limit?: number;
  /** Only checkpoints with a sequence number below this one. */
  before?: number;
}

/** What a series needs from its manager. @internal */
export interface SeriesAccess {
  readonly manager: CheckpointManager;
  readonly storage: Storage;
  /** Commits encoded entries under any identifier, the reserved ones included. */
  commit(identifier: string, entries: EncodedEntry[]): Promise<CheckpointInfo>;
}

/** How often a listing is retried when the checkpoint it named was removed meanwhile. */
const READ_ATTEMPTS = 10;
/** How often `'overwrite-latest'` looks for a free number before giving up. */
const OVERWRITE_ATTEMPTS = 100;

/**
 * A named history of checkpoints in one storage, as `manager.series(name)` returns it.
 * The library picks each checkpoint's identifier (`@series:<name>:<sequence>`, see
 * {@link formatSeriesIdentifier}), applies retention after each save, and turns a stale
 * writer into a `Conflict`: the handle remembers the newest sequence it has seen (through
 * `latest`, `restoreLatest*`, `history` or its own `save`), and a save succeeds only when
 * that is still the latest. On every storage exactly one writer wins each sequence number.
 *
 * Each `manager.series()` call returns a new handle with its own memory of what it saw.
 *
 * @example
 * ```ts
 * const orders = manager.series('orders', { keepLast: 10 });
 * const book = (await orders.restoreLatest('book', OrderBook)) ?? new OrderBook();
 * book.add(order);
 * await orders.save({ book }); // Conflict if another process saved since restoreLatest
 * ```
 */
export class CheckpointSeries {
  readonly #access: SeriesAccess;
  readonly #prefix: string;
  readonly #keepLast: number | undefined;
  readonly #olderThan: Date | number | undefined;
  readonly #onConflict: 'fail' | 'overwrite-latest';
  #seen: number | undefined;
  /** The last save of this handle: its saves run one after another, in call order. */
  #tail: Promise<unknown> = Promise.resolve();

  /**
   * @internal Created by `manager.series(name, options)`.
   * @throws {CheckpointError} `InvalidIdentifier` for a bad name; `Other` for a bad option
   */
  constructor(
    /** The series name. */
    readonly name: string,
    options: SeriesOptions,
    access: SeriesAccess,
  ) {
    assertValidSeriesName(name);
    const { keepLast, olderThan, onConflict = 'fail' } = options ?? {};
    const where = `manager.series(${quote(name)}, ...)`;
    if (keepLast !== undefined && (!Number.isSafeInteger(keepLast) || keepLast < 1)) {
      throw new CheckpointError(
        'Other',
        `${where}: keepLast is ${String(keepLast)}; it is the number of newest checkpoints to keep, an integer 1 or more (the latest always stays).`,
      );
    }
    const badAge =
      olderThan !== undefined &&
      !(olderThan instanceof Date && !Number.isNaN(olderThan.getTime())) &&
      !(typeof olderThan === 'number' && olderThan >= 0 && Number.isFinite(olderThan));
    if (badAge) {
      throw new CheckpointError(
        'Other',
        `${where}: olderThan is ${String(olderThan)}; it is a Date or an age in milliseconds (0 or more).`,
      );
    }
    if (onConflict !== 'fail' && onConflict !== 'overwrite-latest') {
      throw new CheckpointError(
        'Other',
        `${where}: onConflict is ${JSON.stringify(onConflict)}; use 'fail' (the default) or 'overwrite-latest'.`,
      );
    }
    this.#access = access;
    this.#prefix = `${SERIES_PREFIX}${name}:`;
    this.#keepLast = keepLast;
    this.#olderThan = olderThan;
    this.#onConflict = onConflict;
  }

  /**
   * The newest sequence number this handle has seen: `undefined` before it looked, 0 when
   * it found the series empty.
   *
   * @example
   * ```ts
   * await orders.latest();
   * orders.seenSequence; // 41
   * ```
   */
  get seenSequence(): number | undefined {
    return this.#seen;
  }

  /**
   * Commits `values` (one key each, as `manager.save` takes them) as the next checkpoint
   * of the series, then applies retention. Every value is encoded before this returns its
   * promise; saves through one handle commit one after another, in call order.
   *
   * @throws {CheckpointError} `Conflict` naming the sequence this handle started from and
   *   the one now latest, when the series moved on (or this handle has seen nothing and
   *   the series is not empty); `Serialize` as `manager.save`; nothing is committed then
   *
   * @example
   * ```ts
   * const { sequence, retention } = await orders.save({ book });
   * ```
   */
  save(values: Record<string, unknown>): Promise<SeriesSaveInfo> {
    let entries: EncodedEntry[];
    try {
      if (values === null || typeof values !== 'object' || Array.isArray(values)) {
        throw new CheckpointError(
          'Serialize',
          `series(${quote(this.name)}).save(values) takes an object of keys to values, as in save({ book }); got ${values === null ? 'null' : Array.isArray(values) ? 'an array' : `a ${typeof values}`}.`,
        );
      }
      const identifier = `${this.#prefix}(next)`;
      entries = Object.keys(values).map((key) => encodeEntry(identifier, key, values[key]));
    } catch (error) {
      return Promise.reject(error);
    }
    return this.saveEntries(entries);
  }

  /**
   * Commits already encoded entries as the next checkpoint (what `save` and automatic
   * state use). Saves of one handle are queued: each starts from what the previous one
   * committed, so a handle never conflicts with itself.
   * @internal
   */
  saveEntries(entries: EncodedEntry[]): Promise<SeriesSaveInfo> {
    const run = this.#tail.then(() => this.#save(entries));
    this.#tail = run.catch(() => undefined);
    return run.catch((error: unknown) => {
      if (CheckpointError.is(error, 'Conflict')) {
        const identifier = error.identifier ?? this.#prefix;
        this.#access.manager.report('conflict', { series: this.name, identifier, error });
      }
      throw error;
    });
  }

  async #save(entries: EncodedEntry[]): Promise<SeriesSaveInfo> {
    const seen = this.#seen;
    const latest = await this.#latestSequence();
    let next: number;
    if (this.#onConflict === 'fail') {
      if (latest !== undefined && (seen === undefined || latest > seen)) {
        throw seriesConflict(this.name, seen, latest, this.#identifier(latest));
      }
      next = (seen ?? 0) + 1;
    } else {
      next = Math.max(latest ?? 0, seen ?? 0) + 1;
    }
    let info: CheckpointInfo;
    for (let attempt = 1; ; attempt++) {
      const identifier = this.#identifier(next);
      try {
        info = await this.#access.commit(identifier, entries);
        break;
      } catch (error) {
        if (!CheckpointError.is(error, 'AlreadyExists')) throw error;
        // Another writer took this number first: the storage's commit is the arbiter.
        const now = (await this.#latestSequence()) ?? next;
        if (this.#onConflict === 'fail') throw seriesConflict(this.name, seen, now, identifier);
        if (attempt >= OVERWRITE_ATTEMPTS) {
          throw new CheckpointError(
            'Conflict',
            `Series ${quote(this.name)}: ${OVERWRITE_ATTEMPTS} attempts to save under the next free sequence number each found it taken by another writer; retry later, or keep one writer per series.`,
            { identifier },
          );
        }
        next = Math.max(now, next) + 1;
      }
    }
    this.#seen = next;
    const retention = await this.#applyRetention(next, seen, info.createdAt);
    return { ...info, series: this.name, sequence: next, retention };
  }

  /**
   * The newest checkpoint of the series, or `undefined` when it has none. Reads the
   * identifier listing and that checkpoint's metadata, never its values.
   *
   * @throws {CheckpointError} `Integrity` when a malformed identifier sits in the series'
   *   reserved namespace
   *
   * @example
   * ```ts
   * const latest = await orders.latest(); // { identifier: '@series:orders:000000000041', sequence: 41, ... }
   * ```
   */
  async latest(): Promise<SeriesCheckpointInfo | undefined> {
    return this.#withLatest(async (identifier, sequence) => {
      const [info] = await this.#describe([identifier]);
      if (info === undefined) throw checkpointNotFound(identifier); // removed since the listing
      return { ...info, series: this.name, sequence };
    });
  }

  /**
   * Restores the value saved under `key` in the newest checkpoint of the series, or
   * `undefined` on a first start, when the series is empty. With `type`, as
   * `manager.restore`.
   *
   * @throws {CheckpointError} as `manager.restore`: `KeyNotFound`, `Deserialize`, `Version`
   *
   * @example
   * ```ts
   * const book = (await orders.restoreLatest('book', OrderBook)) ?? new OrderBook();
   * ```
   */
  async restoreLatest<T = unknown>(key: string, type?: ClassType<T>): Promise<T | undefined> {
    return this.#withLatest((identifier) => this.#access.manager.restore(identifier, key, type));
  }

  /**
   * Restores the instance saved under `key` in the newest checkpoint into `target`, as
   * `manager.restoreInto`. Returns `target`, or `undefined` (leaving `target` alone) when
   * the series is empty.
   *
   * @throws {CheckpointError} as `manager.restoreInto`
   *
   * @example
   * ```ts
   * await orders.restoreLatestInto('book', this.book);
   * ```
   */
  async restoreLatestInto<T extends object>(key: string, target: T): Promise<T | undefined> {
    return this.#withLatest((identifier) =>
      this.#access.manager.restoreInto(identifier, key, target),
    );
  }

  /**
   * The checkpoints of the series, newest first, described as `latest()` does.
   *
   * @throws {CheckpointError} `Other` for a bad option; `Integrity` for a malformed
   *   identifier in the series' namespace
   *
   * @example
   * ```ts
   * const page = await orders.history({ limit: 20 });
   * const next = await orders.history({ limit: 20, before: page.at(-1)!.sequence });
   * ```
   */
  async history(options: SeriesHistoryOptions = {}): Promise<SeriesCheckpointInfo[]> {
    const { limit, before } = options ?? {};
    if (before !== undefined && (!Number.isSafeInteger(before) || before < 1)) {
      throw new CheckpointError(
        'Other',
        `series(${quote(this.name)}).history({ before: ${String(before)} }): before is a sequence number, an integer 1 or more.`,
      );
    }
    const ids = await listIdentifiersWithPrefix(this.#access.storage, this.#prefix, {
      descending: true,
      limit,
      before: before === undefined ? undefined : this.#identifier(Math.min(before, MAX_SEQUENCE)),
    });
    const out: SeriesCheckpointInfo[] = [];
    for (const info of await this.#describe(ids)) {
      out.push({ ...info, series: this.name, sequence: this.#sequenceOf(info.identifier) });
    }
    if (before === undefined && ids.length === 0) this.#observe(0);
    if (out.length > 0) this.#observe(out[0]!.sequence);
    return out;
  }

  /**
   * The facts of `identifiers` from the storage's summaries (no value read); a checkpoint
   * whose metadata is damaged fails the call with its error, never skipped silently.
   */
  async #describe(identifiers: readonly string[]): Promise<CheckpointInfo[]> {
    const { infos, damaged } = await describeCheckpoints(this.#access.storage, identifiers);
    if (damaged.length > 0) throw damaged[0]!.error;
    return infos;
  }

  /** The newest sequence, from the listing only; `undefined` when the series is empty. */
  async #latestSequence(): Promise<number | undefined> {
    const [newest] = await listIdentifiersWithPrefix(this.#access.storage, this.#prefix, {
      descending: true,
      limit: 1,
    });
    return newest === undefined ? undefined : this.#sequenceOf(newest);
  }

  /**
   * Runs `read` on the newest checkpoint and records its sequence as seen; lists again
   * when it was removed between the listing and the read.
   */
  async #withLatest<R>(
    read: (identifier: string, sequence: number) => Promise<R>,
  ): Promise<R | undefined> {
    for (let attempt = 1; ; attempt++) {
      const sequence = await this.#latestSequence();
      if (sequence === undefined) {
        this.#seen = 0;
        return undefined;
      }
      const identifier = this.#identifier(sequence);
      try {
        const result = await read(identifier, sequence);
        this.#seen = sequence;
        return result;
      } catch (error) {
        if (!CheckpointError.is(error, 'NotFound') || error.identifier !== identifier) throw error;
        if (attempt >= READ_ATTEMPTS) {
          throw new CheckpointError(
            'Io',
            `Series ${quote(this.name)}: the storage listed ${quote(identifier)} as its latest checkpoint ${READ_ATTEMPTS} times, but could not load it each time; the storage's listing and contents disagree. Check the storage, or remove that checkpoint with manager.remove(${quote(identifier)}).`,
            { identifier, cause: error },
          );
        }
      }
    }
  }

  /**
   * True when `identifier` was committed before `moment` or in the same millisecond (a
   * tie cannot tell the two cases apart, and a Conflict is the safe answer); false when
   * it is gone.
   */
  async #committedBefore(identifier: string, moment: Date): Promise<boolean> {
    let saved;
    try {
      saved = await this.#access.storage.loadCheckpoint(identifier);
    } catch (error) {
      if (CheckpointError.is(error, 'NotFound')) return false;
      throw error;
    }
    try {
      return saved.createdAt.getTime() <= moment.getTime();
    } finally {
      await saved.release();
    }
  }

  #observe(sequence: number): void {
    if (this.#seen === undefined || sequence > this.#seen) this.#seen = sequence;
  }

  #identifier(sequence: number): string {
    return formatSeriesIdentifier(this.name, sequence);
  }

  /** The sequence of an identifier listed under this series' prefix, checked. */
  #sequenceOf(identifier: string): number {
    const parsed = parseSeriesIdentifier(identifier);
    if (parsed === undefined || parsed.series !== this.name) {
      throw new CheckpointError(
        'Integrity',
        `The storage holds ${quote(identifier)} in the reserved namespace of series ${quote(this.name)}, but it is not a series identifier (${this.#prefix} and 12 digits from 000000000001); it was not written by a series. Remove it with manager.remove(${quote(identifier)}).`,
        { identifier },
      );
    }
    return parsed.sequence;
  }

  /**
   * Applies `keepLast` and `olderThan` after the save of `saved`. In the default mode it
   * first checks that no newer checkpoint exists: a writer that saved past `saved` and
   * pruned its number (by retention or `manager.prune`) could let our commit succeed, and
   * the series' latest would then not be ours.
   */
  async #applyRetention(
    saved: number,
    seen: number | undefined,
    createdAt: Date,
  ): Promise<SeriesSaveInfo['retention']> {
    const result: SeriesSaveInfo['retention'] = { removed: [], inUse: [], damaged: [] };
    const keepLast = this.#keepLast;
    const olderThan = this.#olderThan;
    const retained = keepLast !== undefined || olderThan !== undefined;
    if (!retained && this.#onConflict !== 'fail') return result;
    const { storage } = this.#access;
    let ids: string[];
    try {
      // Without retention, the newest identifier is all the check needs.
      const newestOnly = { descending: true, limit: 1 };
      ids = await listIdentifiersWithPrefix(storage, this.#prefix, retained ? {} : newestOnly);
      for (const id of ids) this.#sequenceOf(id);
    } catch (error) {
      result.error = asCheckpointError(error);
      return result;
    }
    const newest = this.#sequenceOf(ids.at(-1) ?? this.#identifier(saved));
    // A newer checkpoint committed before ours means our number had been pruned; one
    // committed after ours was saved by a writer that saw ours, which is no conflict.
    // (Creation times come from the storage, or from each writer's clock on FileStorage.)
    let stale = false;
    if (this.#onConflict === 'fail' && newest > saved) {
      try {
        stale = await this.#committedBefore(this.#identifier(newest), createdAt);
      } catch (error) {
        result.error = asCheckpointError(error);
        return result;
      }
    }
    if (stale) {
      const mine = this.#identifier(saved);
      await storage.removeCheckpoint(mine).catch(() => undefined);
      this.#seen = undefined;
      throw seriesConflict(this.name, seen, newest, mine);
    }
    if (!retained) return result;
    const due = ids.slice(0, Math.max(0, ids.length - (keepLast ?? 1)));
    const cutoff =
      olderThan === undefined
        ? undefined
        : olderThan instanceof Date
          ? olderThan.getTime()
          : Date.now() - olderThan;
    try {
      for (const identifier of due) {
        if (cutoff !== undefined) {
          // Sequence order is creation order: the first young enough ends the sweep.
          const saved = await storage.loadCheckpoint(identifier).catch((error: unknown) => {
            if (CheckpointError.is(error, 'NotFound')) return undefined;
            throw error;
          });
          if (saved === undefined) continue;
          const createdAt = saved.createdAt.getTime();
          await saved.release();
          if (createdAt >= cutoff) break;
        }
        try {
          await storage.removeCheckpoint(identifier);
          result.removed.push(identifier);
        } catch (error) {
          if (CheckpointError.is(error, 'InUse')) result.inUse.push(identifier);
          else if (!CheckpointError.is(error, 'NotFound')) throw error;
        }
      }
    } catch (error) {
      result.error = asCheckpointError(error);
    }
    return result;
  }
}

function asCheckpointError(error: unknown): CheckpointError {
  if (error instanceof CheckpointError) return error;
  return new CheckpointError(
    'Other',
    `Retention failed: ${error instanceof Error ? error.message : String(error)}.`,
    { cause: error },
  );
}
