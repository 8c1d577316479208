import { CheckpointError, quote } from '../errors';
import type { CommittedCheckpoint, CreateCheckpointOptions, Storage } from '../storage/storage';
import { WrapperStorage, type WrappedUncommittedCheckpoint } from './wrapper-storage';

/**
 * The guard. It keeps two promises the bare storages cannot keep on their own:
 * - no two open uncommitted checkpoints share an identifier (`AlreadyExists`), and
 *   creating the identifier of a committed checkpoint is `AlreadyExists` too;
 * - a committed checkpoint that a live handle holds cannot be removed (`InUse`). Handles
 *   from `commitCheckpoint` and `loadCheckpoint` are counted; each `release()` (or
 *   `await using`) gives one back.
 *
 * Its limit: the bookkeeping lives in this one wrapper object, in this one process.
 * Two GuardWrappers over the same medium, or two processes, do not see each other's
 * handles. Commit itself never replaces a committed checkpoint in any process, guard or
 * not; that promise comes from the storage.
 *
 * It changes no bytes, so it may sit anywhere in a chain; outermost is usual, so that it
 * also guards the handles the outer wrappers hand out. `MemoryStorage.create()` and
 * `FileStorage.open()` return their storage already guarded.
 *
 * @example
 * ```ts
 * const storage = GuardWrapper.wrap(new MemoryStorage());
 * const saved = await storage.commitCheckpoint(await storage.createCheckpoint('a'));
 * await storage.removeCheckpoint('a'); // throws InUse: `saved` still holds it
 * await saved.release();
 * await storage.removeCheckpoint('a'); // ok
 * ```
 */
export class GuardWrapper extends WrapperStorage {
  protected readonly storageName = 'GuardWrapper';
  readonly #open = new Set<string>();
  readonly #holds = new Map<string, number>();
  readonly #removing = new Map<string, Promise<void>>();

  /**
   * Wraps `storage` in a guard. Synchronous, like every wrapper.
   *
   * @example
   * ```ts
   * const guarded = GuardWrapper.wrap(ChecksumWrapper.wrap(new MemoryStorage()));
   * ```
   */
  static wrap(storage: Storage): GuardWrapper {
    return new GuardWrapper(storage);
  }

  /** How many live committed handles hold `identifier` (for tests and diagnostics). */
  holders(identifier: string): number {
    return this.#holds.get(identifier) ?? 0;
  }

  protected override async doCreate(
    identifier: string,
    options: CreateCheckpointOptions,
  ): Promise<WrappedUncommittedCheckpoint> {
    if (this.#open.has(identifier)) {
      throw new CheckpointError(
        'AlreadyExists',
        `Checkpoint ${quote(identifier)} is already open for writing through this storage; commit or discard that handle first, or choose another identifier.`,
        { identifier },
      );
    }
    // Claimed before the first await, so two concurrent creates cannot both pass.
    this.#open.add(identifier);
    try {
      return await super.doCreate(identifier, options);
    } catch (error) {
      this.#open.delete(identifier);
      throw error;
    }
  }

  protected override async doCommit(
    checkpoint: WrappedUncommittedCheckpoint,
  ): Promise<CommittedCheckpoint> {
    const committed = await super.doCommit(checkpoint);
    this.#open.delete(checkpoint.identifier);
    this.hold(checkpoint.identifier);
    return committed;
  }

  protected override async doLoad(identifier: string): Promise<CommittedCheckpoint> {
    await this.#removing.get(identifier)?.catch(() => undefined);
    const loaded = await super.doLoad(identifier);
    this.hold(identifier);
    return loaded;
  }

  protected override async doRemove(identifier: string): Promise<void> {
    const holders = this.holders(identifier);
    if (holders > 0) {
      throw new CheckpointError(
        'InUse',
        `Checkpoint ${quote(identifier)} is held by ${holders} live handle${holders === 1 ? '' : 's'}; release() them (or use \`await using\`) before removing it.`,
        { identifier },
      );
    }
    const removal = super.doRemove(identifier);
    this.#removing.set(identifier, removal);
    try {
      await removal;
    } finally {
      if (this.#removing.get(identifier) === removal) this.#removing.delete(identifier);
    }
  }

  override uncommittedClosed(identifier: string): void {
    this.#open.delete(identifier);
  }

  override committedReleased(identifier: string): void {
    const count = this.holders(identifier) - 1;
    if (count > 0) this.#holds.set(identifier, count);
    else this.#holds.delete(identifier);
  }

  private hold(identifier: string): void {
    this.#holds.set(identifier, this.holders(identifier) + 1);
  }
}
