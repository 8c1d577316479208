/**
 * The operations checkpointable reports to an instrumentation: `save` and `restore` by
 * the manager (values in and out), `commit`, `load`, `remove` and `list` by the storage.
 *
 * @example
 * ```ts
 * const operation: CheckpointOperation = 'commit';
 * ```
 */
export type CheckpointOperation = 'save' | 'restore' | 'commit' | 'load' | 'remove' | 'list';

/**
 * Attributes of one operation, named as OpenTelemetry attributes (`checkpoint.identifier`,
 * `checkpoint.bytes`, `db.system`, ...). Never values, never key material.
 *
 * @example
 * ```ts
 * const attributes: OperationAttributes = { 'checkpoint.identifier': 'order-42' };
 * ```
 */
export type OperationAttributes = Record<string, string | number | boolean>;

/**
 * What an operation may add while it runs (sizes known only after encoding, say).
 *
 * @example
 * ```ts
 * scope.set({ 'checkpoint.bytes': bytes.length });
 * ```
 */
export interface OperationScope {
  /** Adds or replaces attributes of the running operation. */
  set(attributes: OperationAttributes): void;
}

/**
 * Receives every checkpoint operation as it runs, to trace and measure it. The library
 * itself depends on no telemetry package: `checkpointable/opentelemetry` provides the
 * OpenTelemetry implementation, and anything else can implement this interface.
 *
 * `operation` must call `work` exactly once and return (or throw) what it returns (or
 * throws): it wraps the operation, it does not change it.
 *
 * @example
 * ```ts
 * const timing: CheckpointInstrumentation = {
 *   async operation(name, attributes, work) {
 *     const started = performance.now();
 *     try {
 *       return await work({ set: (more) => Object.assign(attributes, more) });
 *     } finally {
 *       console.log(name, attributes, performance.now() - started);
 *     }
 *   },
 * };
 * manager.instrument(timing);
 * ```
 */
export interface CheckpointInstrumentation {
  /** Runs `work` as the operation `name` with `attributes`. */
  operation<T>(
    name: CheckpointOperation,
    attributes: OperationAttributes,
    work: (scope: OperationScope) => Promise<T>,
  ): Promise<T>;
  /**
   * Called when an automatic save failed (it will be retried, or stopped on a conflict);
   * `attributes` name the series and the error kind. Optional.
   */
  autosaveFailed?(attributes: OperationAttributes): void;
}
