import type {
  CommittedCheckpoint,
  CreateCheckpointOptions,
  Storage,
  UncommittedCheckpoint,
} from '../storage/storage';
import type { CheckpointInstrumentation, OperationAttributes } from './checkpoint-instrumentation';
import { storageAttributes } from './storage-kind';
import {
  summarizeCheckpoints,
  type CheckpointSummaries,
  type SummaryListing,
} from '../storage/checkpoint-summaries';

/**
 * A storage that reports `commit`, `load`, `remove` and `list` to an instrumentation and
 * otherwise is the storage it wraps: the handles it returns are the inner storage's own,
 * so nothing about reading, writing or releasing changes. `CheckpointManager.instrument()`
 * puts one around the manager's storage; use it directly to trace code that works with a
 * storage without a manager.
 *
 * @example
 * ```ts
 * const storage = new InstrumentedStorage(await FileStorage.open('./data'), openTelemetry());
 * ```
 */
export class InstrumentedStorage implements Storage, SummaryListing {
  readonly #attributes: OperationAttributes;

  /**
   * @param inner the storage (or wrapper chain) to report on
   * @param instrumentation where the operations go
   */
  constructor(
    readonly inner: Storage,
    private readonly instrumentation: CheckpointInstrumentation,
  ) {
    this.#attributes = storageAttributes(inner);
  }

  createCheckpoint(
    identifier: string,
    options?: CreateCheckpointOptions,
  ): Promise<UncommittedCheckpoint> {
    return this.inner.createCheckpoint(identifier, options);
  }

  commitCheckpoint(checkpoint: UncommittedCheckpoint): Promise<CommittedCheckpoint> {
    return this.instrumentation.operation(
      'commit',
      this.#with(checkpoint?.identifier, 'commit'),
      () => this.inner.commitCheckpoint(checkpoint),
    );
  }

  loadCheckpoint(identifier: string): Promise<CommittedCheckpoint> {
    return this.instrumentation.operation('load', this.#with(identifier, 'load'), () =>
      this.inner.loadCheckpoint(identifier),
    );
  }

  removeCheckpoint(identifier: string): Promise<void> {
    return this.instrumentation.operation('remove', this.#with(identifier, 'remove'), () =>
      this.inner.removeCheckpoint(identifier),
    );
  }

  checkpointIdentifiers(): Promise<string[]> {
    return this.instrumentation.operation('list', this.#with(undefined, 'list'), async (scope) => {
      const identifiers = await this.inner.checkpointIdentifiers();
      scope.set({ 'checkpoint.count': identifiers.length });
      return identifiers;
    });
  }

  /**
   * Summaries from the inner storage, reported as a `list` operation.
   * @example
   * ```ts
   * await storage.summarizeCheckpoints(['order-42']);
   * ```
   */
  summarizeCheckpoints(identifiers: readonly string[]): Promise<CheckpointSummaries> {
    return this.instrumentation.operation('list', this.#with(undefined, 'list'), async (scope) => {
      const summaries = await summarizeCheckpoints(this.inner, identifiers);
      scope.set({ 'checkpoint.count': summaries.summaries.length });
      return summaries;
    });
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  #with(identifier: unknown, operation: string): OperationAttributes {
    const attributes: OperationAttributes = {
      ...this.#attributes,
      'db.operation.name': operation,
    };
    if (typeof identifier === 'string') attributes['checkpoint.identifier'] = identifier;
    return attributes;
  }
}
