import type { CheckpointError } from '../errors';
import type { SeriesSaveInfo } from '../manager/checkpoint-series';

/**
 * What started a save of a service's state.
 *
 * @example
 * ```ts
 * const trigger: SaveTrigger = 'debounce';
 * ```
 */
export type SaveTrigger = 'interval' | 'debounce' | 'request' | 'retry' | 'manual' | 'shutdown';

/**
 * The events of a {@link CheckpointingHandle}, by name.
 *
 * @example
 * ```ts
 * checkpointing.on('saved', ({ series, info }) => console.log(series, info.sequence));
 * ```
 */
export interface CheckpointingEventMap {
  /** A save committed a checkpoint. */
  saved: { service: object; series: string; trigger: SaveTrigger; info: SeriesSaveInfo };
  /** A save or its retention failed; see {@link CheckpointingErrorEvent}. */
  error: CheckpointingErrorEvent;
}

/**
 * A failure of automatic state, as `onError` and the `error` event receive it.
 *
 * @example
 * ```ts
 * const onError = (error: CheckpointError, event: CheckpointingErrorEvent) =>
 *   log.warn({ series: event.series, retryIn: event.retryIn }, error.message);
 * ```
 */
export interface CheckpointingErrorEvent {
  /** The service whose save failed. */
  service: object;
  /** Its series. */
  series: string;
  /** What started the save. */
  trigger: SaveTrigger;
  /** The failure. */
  error: CheckpointError;
  /**
   * Milliseconds until the next attempt; undefined when there is none (a `Conflict`
   * stopped autosave for the service, or checkpointing is stopping).
   */
  retryIn: number | undefined;
  /** True when autosave of this service stopped for good (after a `Conflict`). */
  stopped: boolean;
  /** True when the checkpoint was committed and only retention afterwards failed. */
  committed: boolean;
}

type Listener<E> = (event: E) => void;

/**
 * A small typed event emitter. A throwing listener does not stop the others; what it
 * threw becomes a process warning.
 * @internal
 */
export class CheckpointingEvents {
  readonly #listeners = new Map<keyof CheckpointingEventMap, Set<Listener<never>>>();

  on<K extends keyof CheckpointingEventMap>(
    name: K,
    listener: Listener<CheckpointingEventMap[K]>,
  ): () => void {
    let set = this.#listeners.get(name);
    if (set === undefined) this.#listeners.set(name, (set = new Set()));
    set.add(listener as Listener<never>);
    return () => set.delete(listener as Listener<never>);
  }

  count(name: keyof CheckpointingEventMap): number {
    return this.#listeners.get(name)?.size ?? 0;
  }

  emit<K extends keyof CheckpointingEventMap>(name: K, event: CheckpointingEventMap[K]): void {
    for (const listener of [...(this.#listeners.get(name) ?? [])]) {
      try {
        (listener as Listener<CheckpointingEventMap[K]>)(event);
      } catch (error) {
        warnListenerFailed(`a '${name}' listener`, error);
      }
    }
  }
}

/** Reports an exception thrown by a user callback without disturbing the save loop. */
export function warnListenerFailed(what: string, error: unknown): void {
  process.emitWarning(
    `checkpointable: ${what} threw: ${error instanceof Error ? error.message : String(error)}`,
    { type: 'CheckpointingWarning' },
  );
}
