import type { CheckpointErrorKind } from '../errors';
import { CheckpointError } from '../errors';

/**
 * What every event says about the operation it reports.
 *
 * @example
 * ```ts
 * manager.on('save', (e: SaveEvent) => metrics.observe(e.durationMs));
 * ```
 */
export interface CheckpointEventBase {
  /** The checkpoint the operation was about. */
  identifier: string;
  /** How long the operation took, in milliseconds. */
  durationMs: number;
  /** The kind of the `CheckpointError` it failed with; absent when it succeeded. */
  errorKind?: CheckpointErrorKind;
  /** The error it failed with; absent when it succeeded. */
  error?: unknown;
}

/**
 * A save (one-shot, series or automatic), successful or not.
 * @example
 * ```ts
 * manager.on('save', ({ identifier, keys, bytes }) => log(identifier, keys, bytes));
 * ```
 */
export interface SaveEvent extends CheckpointEventBase {
  /** The number of keys saved (the manifest not counted). */
  keys: number;
  /** The encoded bytes handed to the storage (before wrappers). */
  bytes: number;
}

/**
 * A value restored (or a failure to restore it).
 * @example
 * ```ts
 * manager.on('restore', ({ identifier, key, bytes }) => log(identifier, key, bytes));
 * ```
 */
export interface RestoreEvent extends CheckpointEventBase {
  /** The key restored. */
  key: string;
  /** The bytes read, after the wrappers unsealed them; 0 when the read failed. */
  bytes: number;
}

/**
 * A checkpoint removed (or a failure to remove it).
 * @example
 * ```ts
 * manager.on('remove', ({ identifier }) => log(`removed ${identifier}`));
 * ```
 */
export type RemoveEvent = CheckpointEventBase;

/**
 * A prune that ran.
 * @example
 * ```ts
 * manager.on('prune', ({ removed }) => log(`pruned ${removed.length}`));
 * ```
 */
export interface PruneEvent {
  /** The identifiers removed, oldest first. */
  removed: string[];
  /** Identifiers due for removal but held by a live handle. */
  inUse: string[];
  /** How long the prune took, in milliseconds. */
  durationMs: number;
}

/**
 * A checkpoint that listing (and so `list()` and `prune()`) skipped because it cannot be
 * read: damaged, tampered with, or written in a format or by a class version this code
 * does not read. Nothing is skipped without this event.
 *
 * @example
 * ```ts
 * manager.on('damaged', ({ identifier, errorKind, message }) =>
 *   alert(`checkpoint ${identifier} is unreadable (${errorKind}): ${message}`));
 * ```
 */
export interface DamagedEvent {
  /** The checkpoint that could not be read. */
  identifier: string;
  /** The kind of the error reading it raised. */
  errorKind: CheckpointErrorKind;
  /** That error's message: what is wrong and what to do. */
  message: string;
  /** The error itself. */
  error: CheckpointError;
}

/**
 * An automatic save of a service's state that failed (it is retried, or, after a
 * `Conflict`, autosave of that service stopped).
 * @example
 * ```ts
 * manager.on('autosave-failed', ({ series, errorKind, retryIn }) => alert(series, errorKind, retryIn));
 * ```
 */
export interface AutosaveFailedEvent {
  /** The series of the service. */
  series: string;
  /** The service whose save failed. */
  service: object;
  /** The kind of the error. */
  errorKind: CheckpointErrorKind;
  /** The error's message. */
  message: string;
  /** The error. */
  error: CheckpointError;
  /** Milliseconds until the next attempt; undefined when there is none. */
  retryIn: number | undefined;
  /** True when autosave of the service stopped (after a `Conflict`). */
  stopped: boolean;
}

/**
 * A series save refused because another writer moved the series on (a stale writer).
 * @example
 * ```ts
 * manager.on('conflict', ({ series, identifier }) => log.warn(`stale save into ${series}: ${identifier}`));
 * ```
 */
export interface ConflictEvent {
  /** The series. */
  series: string;
  /** The identifier the save tried, or the latest one. */
  identifier: string;
  /** The `Conflict` error, whose message says what to do. */
  error: CheckpointError;
}

/**
 * The events a {@link CheckpointManager} reports, by name.
 * @example
 * ```ts
 * const names: (keyof CheckpointEvents)[] = ['save', 'restore', 'remove', 'prune', 'damaged', 'conflict'];
 * ```
 */
export interface CheckpointEvents {
  save: SaveEvent;
  restore: RestoreEvent;
  remove: RemoveEvent;
  prune: PruneEvent;
  damaged: DamagedEvent;
  'autosave-failed': AutosaveFailedEvent;
  conflict: ConflictEvent;
}

/**
 * A listener of event `E`.
 * @example
 * ```ts
 * const onSave: CheckpointListener<'save'> = (e) => console.log(e.identifier);
 * ```
 */
export type CheckpointListener<E extends keyof CheckpointEvents> = (
  event: CheckpointEvents[E],
) => void;

/**
 * A small typed emitter. A listener that throws never breaks the operation it listens
 * to: its error becomes a process warning (`process.on('warning')`), so it is not lost.
 *
 * @example
 * ```ts
 * const events = new CheckpointEventEmitter();
 * const off = events.on('save', (e) => console.log(e.identifier));
 * off();
 * ```
 */
export class CheckpointEventEmitter {
  readonly #listeners = new Map<keyof CheckpointEvents, Set<(event: never) => void>>();

  /**
   * Calls `listener` for every `event` from now on; returns the function that stops it.
   * @example
   * ```ts
   * const off = manager.on('damaged', (e) => console.warn(e.message));
   * ```
   */
  on<E extends keyof CheckpointEvents>(event: E, listener: CheckpointListener<E>): () => void {
    let set = this.#listeners.get(event);
    if (set === undefined) this.#listeners.set(event, (set = new Set()));
    set.add(listener as (event: never) => void);
    return () => void set.delete(listener as (event: never) => void);
  }

  /**
   * True when `event` has a listener: callers skip building events nobody reads.
   * @example
   * ```ts
   * if (events.has('save')) events.emit('save', build());
   * ```
   */
  has(event: keyof CheckpointEvents): boolean {
    return (this.#listeners.get(event)?.size ?? 0) > 0;
  }

  /**
   * Hands `payload` to every listener of `event`.
   * @example
   * ```ts
   * events.emit('remove', { identifier: 'a', durationMs: 1 });
   * ```
   */
  emit<E extends keyof CheckpointEvents>(event: E, payload: CheckpointEvents[E]): void {
    const set = this.#listeners.get(event);
    if (set === undefined) return;
    for (const listener of [...set]) {
      try {
        (listener as CheckpointListener<E>)(payload);
      } catch (error) {
        process.emitWarning(
          `A checkpointable '${event}' listener threw; the operation it listened to went on. ${String(error)}`,
          { type: 'CheckpointListenerError', detail: error instanceof Error ? error.stack : '' },
        );
      }
    }
  }
}

/**
 * The error kind of `error` for an event: its kind, or `Other` for a foreign error.
 * @example
 * ```ts
 * errorKindOf(new CheckpointError('Io', 'disk')); // 'Io'
 * ```
 */
export function errorKindOf(error: unknown): CheckpointErrorKind {
  return error instanceof CheckpointError ? error.kind : 'Other';
}
