import { CheckpointError, quote } from '../errors';
import type { CheckpointSeries, SeriesSaveInfo } from '../manager/checkpoint-series';
import type { CheckpointedStateOptions } from './checkpointed-state';
import type { CheckpointingErrorEvent, SaveTrigger } from './checkpointing-events';
import { encodeState, STATE_KEY } from './service-state';

/**
 * How failed saves are retried: after `initialDelay` ms, doubling up to `maxDelay` ms.
 *
 * @example
 * ```ts
 * const retry: RetryPolicy = { initialDelay: 1_000, maxDelay: 60_000 };
 * ```
 */
export interface RetryPolicy {
  /** The delay before the first retry, in milliseconds (1,000 by default). */
  initialDelay?: number;
  /** The longest delay between retries, in milliseconds (60,000 by default). */
  maxDelay?: number;
}

/** What an autosave tells its handle. @internal */
export interface AutosaveReporter {
  saved(service: object, series: string, trigger: SaveTrigger, info: SeriesSaveInfo): void;
  failed(event: CheckpointingErrorEvent): void;
  /** Every save that ended: committed or unchanged (no error), or failed. */
  settled?(service: object, error?: CheckpointError): void;
}

type Phase = 'new' | 'running' | 'halted' | 'stopped';

/**
 * The automatic state of one service: restores it, then saves it by its policy, one save
 * at a time, skipping saves whose encoded state equals the last saved one, retrying failed
 * saves with backoff and stopping for good on a `Conflict`.
 * @internal
 */
export class ServiceAutosave {
  #phase: Phase = 'new';
  #lastSaved: Buffer | undefined;
  #inFlight: Promise<SeriesSaveInfo | undefined> | undefined;
  #queued: Promise<SeriesSaveInfo | undefined> | undefined;
  #queuedTrigger: SaveTrigger = 'request';
  #interval: ReturnType<typeof setInterval> | undefined;
  #debounce: ReturnType<typeof setTimeout> | undefined;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #failures = 0;
  #halt: CheckpointError | undefined;
  readonly #initialDelay: number;
  readonly #maxDelay: number;

  constructor(
    readonly service: object,
    readonly options: CheckpointedStateOptions,
    private readonly series: CheckpointSeries,
    private readonly reporter: AutosaveReporter,
    retry: RetryPolicy = {},
  ) {
    this.#initialDelay = retry.initialDelay ?? 1_000;
    this.#maxDelay = retry.maxDelay ?? 60_000;
  }

  /** The series name. */
  get seriesName(): string {
    return this.series.name;
  }

  /** True after `stop()` began. */
  get stopped(): boolean {
    return this.#phase === 'stopped';
  }

  /**
   * Restores the service's fields from the latest checkpoint (keeping the initial values
   * on a first start), notes the state as saved and starts the interval.
   * @returns the sequence restored, or undefined when the series was empty
   */
  async start(): Promise<number | undefined> {
    const restored = await this.series.restoreLatestInto(STATE_KEY, this.service);
    // What is in memory now is what is stored (or the initial state, which needs no save).
    this.#lastSaved = encodeState(this.service, this.series.name).bytes;
    this.#phase = 'running';
    const { every } = this.options;
    if (every !== undefined) {
      this.#interval = setInterval(() => this.#auto('interval'), every);
      this.#interval.unref?.();
    }
    return restored === undefined ? undefined : this.series.seenSequence;
  }

  /** `requestSave(service)`: a save now, or after the debounce delay. */
  request(): void {
    if (this.#phase === 'stopped') {
      throw new CheckpointError(
        'Released',
        `requestSave() on ${describeService(this.service)}: checkpointing of series ${quote(this.series.name)} was stopped, so this change will not be saved; change state only before checkpointing.stop() or container.dispose().`,
      );
    }
    // After a Conflict the service no longer saves; the Conflict was reported then.
    if (this.#phase !== 'running') return;
    const { debounce } = this.options;
    if (debounce === undefined) {
      this.#auto('request');
    } else if (this.#debounce === undefined) {
      this.#debounce = setTimeout(() => {
        this.#debounce = undefined;
        this.#auto('debounce');
      }, debounce);
      this.#debounce.unref?.();
    }
  }

  /**
   * Saves the state now (after the save in flight, if any).
   * @returns the checkpoint, or undefined when the state was unchanged
   * @throws {CheckpointError} what the save failed with (also reported), `Conflict` after
   *   autosave stopped on one
   */
  saveNow(trigger: SaveTrigger = 'manual'): Promise<SeriesSaveInfo | undefined> {
    if (this.#halt !== undefined) return Promise.reject(this.#halt);
    return this.#schedule(trigger);
  }

  /**
   * Stops the timers and, with `final` and `onShutdown` (default), saves once more.
   * Waits for a save in flight.
   * @throws {CheckpointError} what the final save failed with (also reported)
   */
  async stop(final: boolean): Promise<void> {
    if (this.#phase === 'stopped') return;
    const wasRunning = this.#phase === 'running';
    this.#phase = 'stopped';
    this.#clearTimers();
    if (final && wasRunning && this.options.onShutdown !== false) {
      await this.#schedule('shutdown');
    } else {
      await (this.#queued ?? this.#inFlight)?.catch(() => undefined);
    }
  }

  /** A save started by a timer or a request: its failure is reported, never thrown. */
  #auto(trigger: SaveTrigger): void {
    if (this.#phase !== 'running') return;
    this.#schedule(trigger).catch(() => undefined);
  }

  /** Runs a save now, or once after the one in flight: N requests meanwhile make one save. */
  #schedule(trigger: SaveTrigger): Promise<SeriesSaveInfo | undefined> {
    if (this.#inFlight === undefined) {
      const run = this.#run(trigger);
      this.#inFlight = run;
      const clear = () => {
        if (this.#inFlight === run) this.#inFlight = undefined;
      };
      run.then(clear, clear);
      return run;
    }
    if (trigger === 'shutdown' || trigger === 'manual') this.#queuedTrigger = trigger;
    if (this.#queued === undefined) {
      this.#queuedTrigger = trigger;
      const after = this.#inFlight.catch(() => undefined);
      this.#queued = after.then(() => {
        this.#queued = undefined;
        return this.#schedule(this.#queuedTrigger);
      });
    }
    return this.#queued;
  }

  async #run(trigger: SaveTrigger): Promise<SeriesSaveInfo | undefined> {
    if (this.#halt !== undefined) throw this.#halt;
    let info: SeriesSaveInfo;
    try {
      // Encoded synchronously, at this moment: the snapshot of the state is of one instant.
      const entry = encodeState(this.service, this.series.name);
      if (this.#lastSaved !== undefined && entry.bytes.equals(this.#lastSaved)) {
        this.#succeeded();
        this.reporter.settled?.(this.service);
        return undefined;
      }
      info = await this.series.saveEntries([entry]);
      this.#lastSaved = entry.bytes;
    } catch (error) {
      throw this.#failed(trigger, asCheckpointError(error, this.series.name));
    }
    this.#succeeded();
    this.reporter.settled?.(this.service);
    this.reporter.saved(this.service, this.series.name, trigger, info);
    if (info.retention.error !== undefined) {
      this.reporter.failed({
        service: this.service,
        series: this.series.name,
        trigger,
        error: info.retention.error,
        retryIn: undefined,
        stopped: false,
        committed: true,
      });
    }
    return info;
  }

  #succeeded(): void {
    this.#failures = 0;
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    this.#retry = undefined;
  }

  #failed(trigger: SaveTrigger, error: CheckpointError): CheckpointError {
    let retryIn: number | undefined;
    const conflict = error.kind === 'Conflict';
    if (conflict) {
      this.#halt = error;
      if (this.#phase === 'running') this.#phase = 'halted';
      this.#clearTimers();
    } else if (this.#phase === 'running') {
      this.#failures++;
      retryIn = Math.min(this.#initialDelay * 2 ** (this.#failures - 1), this.#maxDelay);
      if (this.#retry !== undefined) clearTimeout(this.#retry);
      this.#retry = setTimeout(() => {
        this.#retry = undefined;
        this.#auto('retry');
      }, retryIn);
      this.#retry.unref?.();
    }
    this.reporter.settled?.(this.service, error);
    this.reporter.failed({
      service: this.service,
      series: this.series.name,
      trigger,
      error,
      retryIn,
      stopped: conflict,
      committed: false,
    });
    return error;
  }

  #clearTimers(): void {
    if (this.#interval !== undefined) clearInterval(this.#interval);
    if (this.#debounce !== undefined) clearTimeout(this.#debounce);
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    this.#interval = this.#debounce = this.#retry = undefined;
  }
}

/** A class name for messages. @internal */
export function describeService(service: object): string {
  return service.constructor?.name || 'the service';
}

function asCheckpointError(error: unknown, series: string): CheckpointError {
  if (error instanceof CheckpointError) return error;
  return new CheckpointError(
    'Other',
    `Saving the state of series ${quote(series)} failed: ${error instanceof Error ? error.message : String(error)}.`,
    { cause: error },
  );
}
