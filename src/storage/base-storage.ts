import { CheckpointError, quote } from '../errors';
import { BaseUncommittedCheckpoint } from './base-checkpoints';
import { assertValidName, sortNames } from './names';
import type {
  CommittedCheckpoint,
  CreateCheckpointOptions,
  Storage,
  UncommittedCheckpoint,
} from './storage';

/**
 * The part every storage and wrapper shares: identifier validation before any I/O, the
 * closed state, the check that a handle belongs to this storage, and the commit protocol
 * (the handle stops taking changes, in-flight writes finish, then the medium publishes).
 * Subclasses implement the `do*` methods for their medium.
 *
 * @example
 * ```ts
 * class MyStorage extends BaseStorage<MyUncommitted> {
 *   protected readonly storageName = 'MyStorage';
 *   protected handleClass = MyUncommitted;
 *   // doCreate, doCommit, doLoad, doRemove, doList, doClose
 * }
 * ```
 */
export abstract class BaseStorage<U extends BaseUncommittedCheckpoint> implements Storage {
  #closed = false;

  /** Shown in messages: `FileStorage`, `ChecksumWrapper`, ... */
  protected abstract readonly storageName: string;

  /**
   * Opens a new uncommitted checkpoint; `identifier` is already valid. With
   * `checkExists: false` the storage may skip checking that it is not committed yet: its
   * commit must refuse an existing identifier atomically in any case.
   */
  protected abstract doCreate(identifier: string, options: CreateCheckpointOptions): Promise<U>;
  /** Publishes the handle's contents atomically. */
  protected abstract doCommit(checkpoint: U): Promise<CommittedCheckpoint>;
  /** Opens a committed checkpoint; throws `NotFound`. */
  protected abstract doLoad(identifier: string): Promise<CommittedCheckpoint>;
  /** Deletes a committed checkpoint; throws `NotFound`. */
  protected abstract doRemove(identifier: string): Promise<void>;
  /** Lists committed identifiers in any order. */
  protected abstract doList(): Promise<string[]>;
  /** Releases the medium. */
  protected abstract doClose(): Promise<void>;

  async createCheckpoint(
    identifier: string,
    options: CreateCheckpointOptions = {},
  ): Promise<UncommittedCheckpoint> {
    this.assertOpen();
    assertValidName('identifier', identifier);
    return this.doCreate(identifier, options);
  }

  async commitCheckpoint(checkpoint: UncommittedCheckpoint): Promise<CommittedCheckpoint> {
    this.assertOpen();
    const own = this.own(checkpoint);
    await own.beginCommit();
    try {
      const committed = await this.doCommit(own);
      own.endCommit(true);
      return committed;
    } catch (error) {
      own.endCommit(false);
      throw error;
    }
  }

  async loadCheckpoint(identifier: string): Promise<CommittedCheckpoint> {
    this.assertOpen();
    assertValidName('identifier', identifier);
    return this.doLoad(identifier);
  }

  async removeCheckpoint(identifier: string): Promise<void> {
    this.assertOpen();
    assertValidName('identifier', identifier);
    return this.doRemove(identifier);
  }

  async checkpointIdentifiers(): Promise<string[]> {
    this.assertOpen();
    return sortNames(await this.doList());
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.doClose();
  }

  /** True after `close()`. */
  protected get closed(): boolean {
    return this.#closed;
  }

  /** Throws `Released` once the storage is closed. */
  protected assertOpen(): void {
    if (!this.#closed) return;
    throw new CheckpointError(
      'Released',
      `This ${this.storageName} was closed; open a new one to keep working with its checkpoints.`,
    );
  }

  /** The handle as this storage's own type, or an error when another storage made it. */
  private own(checkpoint: UncommittedCheckpoint): U {
    if (checkpoint instanceof BaseUncommittedCheckpoint && checkpoint.owner === this)
      return checkpoint as U;
    const id = typeof checkpoint?.identifier === 'string' ? ` ${quote(checkpoint.identifier)}` : '';
    throw new CheckpointError(
      'Other',
      `Checkpoint${id} was not created by this ${this.storageName}; commit a checkpoint through the storage (or wrapper chain) whose createCheckpoint() made it.`,
      { identifier: checkpoint?.identifier },
    );
  }
}

/** The `AlreadyExists` error for committing or creating over a committed checkpoint. */
export function alreadyCommitted(identifier: string): CheckpointError {
  return new CheckpointError(
    'AlreadyExists',
    `Checkpoint ${quote(identifier)} is already committed, and a committed checkpoint is never replaced; choose another identifier, or remove the old one first.`,
    { identifier },
  );
}

/**
 * The `NotFound` error of a committed handle whose checkpoint went away under it: removed
 * (and perhaps committed again) through another storage object or process, which a
 * GuardWrapper, guarding one storage object, cannot prevent.
 */
export function removedWhileOpen(identifier: string, key: string): CheckpointError {
  return new CheckpointError(
    'NotFound',
    `Checkpoint ${quote(identifier)} was removed while this handle was open, by another process or storage object (a GuardWrapper stops removals only through its own storage object); load it again to read what is committed now.`,
    { identifier, key },
  );
}

/** The `NotFound` error for an unknown committed checkpoint. */
export function checkpointNotFound(identifier: string): CheckpointError {
  return new CheckpointError(
    'NotFound',
    `There is no committed checkpoint ${quote(identifier)}; checkpointIdentifiers() lists the ones there are.`,
    { identifier },
  );
}
