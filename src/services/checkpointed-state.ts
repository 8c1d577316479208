import type { Migration } from '../decorators/checkpoint-options';
import { CheckpointError, quote } from '../errors';
import { assertValidSeriesName } from '../manager/series-identifier';

/**
 * Options of `@CheckpointedState`: the series the service's state goes to, when it is
 * saved, and how the stored state is upgraded.
 *
 * @example
 * ```ts
 * const options: CheckpointedStateOptions = { series: 'orders', every: 30_000, debounce: 500 };
 * ```
 */
export interface CheckpointedStateOptions {
  /** The series name (identifier grammar, no `:`, at most 200 characters). */
  series: string;
  /** Save every `every` milliseconds (when the state changed). */
  every?: number;
  /**
   * Save `debounce` milliseconds after the first `requestSave(service)` since the last
   * save; requests meanwhile join that save. Without it, each request saves at once
   * (one save at a time: requests during a save schedule one more).
   */
  debounce?: number;
  /** Save once more at `stop()`, `container.dispose()` or a handled signal; true by default. */
  onShutdown?: boolean;
  /** Retention: keep the newest `keepLast` checkpoints of the series. */
  keepLast?: number;
  /** Retention: remove checkpoints older than this (a `Date` or an age in milliseconds). */
  olderThan?: Date | number;
  /** The version of the state this code writes, as in `@Checkpointable` (1 by default). */
  version?: number;
  /** `migrations[N]` upgrades the state's fields from version N to N + 1, as in `@Checkpointable`. */
  migrations?: Record<number, Migration>;
}

const declared = new WeakMap<Function, CheckpointedStateOptions>();

/**
 * Makes a service's `@CheckpointField` properties its state, saved in the series
 * `options.series`: restored by `startCheckpointing`, then saved by the policy (`every`,
 * `debounce` after `requestSave(this)`, `onShutdown`). The class need not carry
 * `@Checkpointable`; when it does not, its state is stored under the class name
 * `CheckpointedState:<series>` with `version` and `migrations` from here.
 *
 * @throws {CheckpointError} `InvalidIdentifier` for a bad series name; `Metadata` for a bad
 *   option or a second `@CheckpointedState` on the class
 *
 * @example
 * ```ts
 * @injectable()
 * @CheckpointedState({ series: 'orders', every: 30_000, debounce: 500, keepLast: 10 })
 * class OrderService {
 *   @CheckpointField() book = new OrderBook();
 *   place(order: Order) {
 *     this.book.add(order);
 *     requestSave(this);
 *   }
 * }
 * ```
 */
export function CheckpointedState(options: CheckpointedStateOptions): ClassDecorator {
  const checked = checkOptions(options);
  return (target) => {
    if (declared.has(target)) {
      throw new CheckpointError(
        'Metadata',
        `@CheckpointedState() is applied twice to ${target.name || '(anonymous class)'}; keep one.`,
      );
    }
    declared.set(target, checked);
  };
}

/**
 * The `@CheckpointedState` options of `ctor` (or of the nearest parent class carrying them).
 * @internal
 */
export function checkpointedStateOf(ctor: Function): CheckpointedStateOptions | undefined {
  for (let c: unknown = ctor; typeof c === 'function'; c = Object.getPrototypeOf(c)) {
    const options = declared.get(c as Function);
    if (options !== undefined) return options;
  }
  return undefined;
}

function checkOptions(options: CheckpointedStateOptions): CheckpointedStateOptions {
  if (options === null || typeof options !== 'object') {
    throw misuse(
      `@CheckpointedState() takes options with at least the series name, as in @CheckpointedState({ series: 'orders' }).`,
    );
  }
  assertValidSeriesName(options.series);
  const where = `@CheckpointedState({ series: ${quote(options.series)} })`;
  for (const name of ['every', 'debounce'] as const) {
    const ms = options[name];
    if (ms !== undefined && !(typeof ms === 'number' && Number.isFinite(ms) && ms > 0)) {
      throw misuse(`${where}: ${name} is ${String(ms)}; it is a number of milliseconds above 0.`);
    }
  }
  if (options.onShutdown !== undefined && typeof options.onShutdown !== 'boolean') {
    throw misuse(`${where}: onShutdown is ${String(options.onShutdown)}; use true or false.`);
  }
  return { ...options };
}

function misuse(message: string): CheckpointError {
  return new CheckpointError('Metadata', message);
}
