import type { ClassType } from '../codec/restore-as';
import { decodeValue, encodeValue, restoreAs } from '../decorators/registry-codec';
import { CheckpointError, quote } from '../errors';
import { assertLabel } from './checkpoint-summaries';
import { assertValidName, sortNames } from './names';
import type { CommittedCheckpoint, UncommittedCheckpoint } from './storage';

type UncommittedState = 'open' | 'committing' | 'committed' | 'discarded';

/**
 * The part every uncommitted handle shares, whatever the medium: the Released state
 * machine, key validation before any I/O, and the codec, which runs here and nowhere
 * else. A storage (or wrapper) implements only the byte-level operations.
 *
 * Handles are used up by `commitCheckpoint`; a failed commit hands the handle back
 * (state `open`) so the caller can retry or discard it.
 *
 * @example
 * ```ts
 * class MyCheckpoint extends BaseUncommittedCheckpoint {
 *   protected async writeBytes(key: string, bytes: Uint8Array) { ... }
 *   // readBytes, deleteKey, listKeys, abandon
 * }
 * ```
 */
export abstract class BaseUncommittedCheckpoint implements UncommittedCheckpoint {
  #state: UncommittedState = 'open';
  #label: string | undefined;
  readonly #pending = new Set<Promise<unknown>>();

  /**
   * @param identifier the checkpoint identifier, already validated by the storage
   * @param owner the storage that created the handle; only it may commit the handle
   */
  constructor(
    readonly identifier: string,
    readonly owner: object,
  ) {}

  /** Writes `bytes` under `key`, replacing any earlier value. */
  protected abstract writeBytes(key: string, bytes: Uint8Array): Promise<void>;
  /**
   * Reads the bytes under `key`; throws `KeyNotFound` when absent. Returns a buffer the
   * caller may keep and change (a fresh read or copy, never the stored buffer itself).
   */
  protected abstract readBytes(key: string): Promise<Uint8Array>;
  /** Deletes `key`; throws `KeyNotFound` when absent. */
  protected abstract deleteKey(key: string): Promise<void>;
  /** Lists the keys, in any order. */
  protected abstract listKeys(): Promise<string[]>;
  /** Throws away everything written so far. */
  protected abstract abandon(): Promise<void>;

  async put(key: string, value: unknown): Promise<void> {
    this.assertUsable();
    assertValidName('key', key, this.identifier);
    // Encoded before the first await: the snapshot is taken at call time.
    const bytes = encodeValue(value, { identifier: this.identifier, key });
    return this.track(this.writeBytes(key, bytes));
  }

  async get<T = unknown>(key: string, type?: ClassType<T>): Promise<T> {
    const bytes = await this.getBytes(key);
    const context = { identifier: this.identifier, key };
    // The bytes were just read for this call and nobody else holds them.
    const value = decodeValue(bytes, context, { owned: true });
    return type === undefined ? (value as T) : restoreAs(value, type, context);
  }

  async putBytes(key: string, bytes: Uint8Array): Promise<void> {
    this.assertUsable();
    assertValidName('key', key, this.identifier);
    if (!(bytes instanceof Uint8Array)) {
      throw new CheckpointError(
        'Serialize',
        `putBytes(${quote(key)}) on checkpoint ${quote(this.identifier)} takes a Uint8Array or Buffer; use put() for other values.`,
        { identifier: this.identifier, key },
      );
    }
    return this.track(this.writeBytes(key, Uint8Array.prototype.slice.call(bytes)));
  }

  /**
   * `putBytes` for bytes the caller has just made and hands over for good (a wrapper's
   * sealed envelope): no defensive copy, which for a 100 MB value is 100 MB less memory.
   * @internal
   */
  async putOwnedBytes(key: string, bytes: Uint8Array): Promise<void> {
    this.assertUsable();
    assertValidName('key', key, this.identifier);
    return this.track(this.writeBytes(key, bytes));
  }

  async getBytes(key: string): Promise<Uint8Array> {
    this.assertUsable();
    assertValidName('key', key, this.identifier);
    return this.track(this.readBytes(key));
  }

  async remove(key: string): Promise<void> {
    this.assertUsable();
    assertValidName('key', key, this.identifier);
    return this.track(this.deleteKey(key));
  }

  async keys(): Promise<string[]> {
    this.assertUsable();
    return sortNames(await this.track(this.listKeys()));
  }

  /**
   * Attaches a label that listings return without reading values; the storage keeps it
   * with the checkpoint on commit.
   * @throws {CheckpointError} `Serialize` when it is not a string of at most 65,536 characters
   */
  setLabel(label: string): void {
    this.assertUsable();
    assertLabel(this.identifier, label);
    this.#label = label;
  }

  /** The label set so far, if any. */
  get label(): string | undefined {
    return this.#label;
  }

  async discard(): Promise<void> {
    if (this.#state === 'discarded') return;
    this.assertUsable();
    this.#state = 'discarded';
    await this.settle();
    await this.abandon();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#state === 'open') await this.discard();
  }

  /**
   * Called by the owning storage at the start of a commit: from now on the handle
   * refuses new work, and operations already started finish first.
   * @internal
   */
  async beginCommit(): Promise<void> {
    this.assertUsable();
    this.#state = 'committing';
    await this.settle();
  }

  /**
   * Called by the owning storage when its commit finished: used up on success, usable
   * again on failure.
   * @internal
   */
  endCommit(committed: boolean): void {
    this.#state = committed ? 'committed' : 'open';
  }

  /** True while the handle accepts operations. */
  get isOpen(): boolean {
    return this.#state === 'open';
  }

  private assertUsable(): void {
    if (this.#state === 'open') return;
    const id = quote(this.identifier);
    const message = {
      committing: `Checkpoint ${id} is being committed; this uncommitted handle takes no more changes. Wait for commitCheckpoint() and load the checkpoint to read it.`,
      committed: `Checkpoint ${id} was committed; this uncommitted handle can no longer be used. Read it through the handle commitCheckpoint() returned, or loadCheckpoint(${id}).`,
      discarded: `Checkpoint ${id} was discarded; this handle can no longer be used. Start again with createCheckpoint(${id}).`,
    }[this.#state];
    throw new CheckpointError('Released', message, { identifier: this.identifier });
  }

  private track<T>(operation: Promise<T>): Promise<T> {
    this.#pending.add(operation);
    const forget = () => this.#pending.delete(operation);
    operation.then(forget, forget);
    return operation;
  }

  private async settle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }
}

/**
 * The part every committed handle shares: the Released state, key validation and the
 * codec. A storage implements `readBytes` and `listKeys`, and `onRelease` if it holds
 * something per handle.
 *
 * @example
 * ```ts
 * class MyCommitted extends BaseCommittedCheckpoint {
 *   protected async readBytes(key: string) { ... }
 *   protected async listKeys() { ... }
 * }
 * ```
 */
export abstract class BaseCommittedCheckpoint implements CommittedCheckpoint {
  #released = false;

  /**
   * @param identifier the checkpoint identifier
   * @param createdAt when it was committed
   * @param label the label its writer gave it, if the storage keeps labels
   */
  constructor(
    readonly identifier: string,
    readonly createdAt: Date,
    readonly label?: string,
  ) {}

  /**
   * Reads the bytes under `key`; throws `KeyNotFound` when absent. Returns a buffer the
   * caller may keep and change (a fresh read or copy, never the stored buffer itself).
   */
  protected abstract readBytes(key: string): Promise<Uint8Array>;
  /** Lists the keys, in any order. */
  protected abstract listKeys(): Promise<string[]>;
  /** Gives back what this handle holds; called once. */
  protected onRelease(): Promise<void> | void {}

  async get<T = unknown>(key: string, type?: ClassType<T>): Promise<T> {
    const bytes = await this.getBytes(key);
    const context = { identifier: this.identifier, key };
    // The bytes were just read for this call and nobody else holds them.
    const value = decodeValue(bytes, context, { owned: true });
    return type === undefined ? (value as T) : restoreAs(value, type, context);
  }

  async getBytes(key: string): Promise<Uint8Array> {
    this.assertUsable();
    assertValidName('key', key, this.identifier);
    return this.readBytes(key);
  }

  async keys(): Promise<string[]> {
    this.assertUsable();
    return sortNames(await this.listKeys());
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    await this.onRelease();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }

  /** True until the handle is released. */
  get isOpen(): boolean {
    return !this.#released;
  }

  private assertUsable(): void {
    if (!this.#released) return;
    const id = quote(this.identifier);
    throw new CheckpointError(
      'Released',
      `The handle on checkpoint ${id} was released and can no longer be used; load it again with loadCheckpoint(${id}).`,
      { identifier: this.identifier },
    );
  }
}

/** The `KeyNotFound` error every storage raises for an absent key. */
export function keyNotFound(identifier: string, key: string): CheckpointError {
  return new CheckpointError(
    'KeyNotFound',
    `Checkpoint ${quote(identifier)} has no key ${quote(key)}; list the keys it has with keys().`,
    { identifier, key },
  );
}
