import { BaseCommittedCheckpoint, BaseUncommittedCheckpoint } from '../storage/base-checkpoints';
import { BaseStorage } from '../storage/base-storage';
import {
  summarizeCheckpoints,
  type CheckpointSummaries,
  type SummaryListing,
} from '../storage/checkpoint-summaries';
import type {
  CommittedCheckpoint,
  CreateCheckpointOptions,
  Storage,
  UncommittedCheckpoint,
} from '../storage/storage';
import {
  listIdentifiersWithPrefix,
  type PrefixListing,
  type PrefixListingOptions,
} from '../storage/prefix-listing';

/**
 * A storage nested around another storage: every call goes through to
 * `inner`, and each value's bytes pass through {@link WrapperStorage.seal} on the way in
 * and {@link WrapperStorage.unseal} on the way out. The codec runs only in the outermost
 * handle, so a wrapper only ever sees bytes. Closing a wrapper closes the chain under it.
 * HmacWrapper and EncryptionWrapper build on `SealingWrapper` (`sealing-wrapper.ts`),
 * which replaces these per-value hooks with envelopes bound to a commit and a seal per
 * commit.
 *
 * @example
 * ```ts
 * class Rot13Wrapper extends WrapperStorage {
 *   protected readonly storageName = 'Rot13Wrapper';
 *   seal(identifier: string, key: string, bytes: Uint8Array) { ... }
 *   unseal(identifier: string, key: string, bytes: Uint8Array) { ... }
 * }
 * ```
 */
export abstract class WrapperStorage
  extends BaseStorage<WrappedUncommittedCheckpoint>
  implements SummaryListing, PrefixListing
{
  /** @param inner the storage this wrapper adds its behaviour to */
  constructor(readonly inner: Storage) {
    super();
  }

  /**
   * Turns a value's bytes into what the inner storage keeps; the wrapper's handles call it
   * for every value written. Pass-through by default: override it in a wrapper.
   */
  seal(_identifier: string, _key: string, bytes: Uint8Array): Uint8Array {
    return bytes;
  }

  /**
   * Turns what the inner storage kept back into the value's bytes, or throws a
   * CheckpointError when they fail a check; the wrapper's handles call it for every value
   * read. Pass-through by default: override it in a wrapper.
   */
  unseal(_identifier: string, _key: string, bytes: Uint8Array): Uint8Array {
    return bytes;
  }

  /**
   * Called when an uncommitted handle of this wrapper is discarded.
   * @internal
   */
  uncommittedClosed(_identifier: string): void {}

  /**
   * Called when a committed handle of this wrapper is released.
   * @internal
   */
  committedReleased(_identifier: string): void {}

  protected async doCreate(
    identifier: string,
    options: CreateCheckpointOptions,
  ): Promise<WrappedUncommittedCheckpoint> {
    const inner = await this.inner.createCheckpoint(identifier, options);
    return new WrappedUncommittedCheckpoint(this, inner);
  }

  protected async doCommit(checkpoint: WrappedUncommittedCheckpoint): Promise<CommittedCheckpoint> {
    return new WrappedCommittedCheckpoint(
      this,
      await this.inner.commitCheckpoint(checkpoint.inner),
    );
  }

  protected async doLoad(identifier: string): Promise<CommittedCheckpoint> {
    return new WrappedCommittedCheckpoint(this, await this.inner.loadCheckpoint(identifier));
  }

  protected doRemove(identifier: string): Promise<void> {
    return this.inner.removeCheckpoint(identifier);
  }

  protected doList(): Promise<string[]> {
    return this.inner.checkpointIdentifiers();
  }

  /**
   * Passes summaries through from `inner` (loading each checkpoint when `inner` cannot
   * summarize); see {@link SummaryListing}.
   * @example
   * ```ts
   * await wrapper.summarizeCheckpoints(['order-42']);
   * ```
   */
  async summarizeCheckpoints(identifiers: readonly string[]): Promise<CheckpointSummaries> {
    this.assertOpen();
    return summarizeCheckpoints(this.inner, identifiers);
  }

  /**
   * Passes a prefix listing through to `inner` (listing `inner` in full when it has no
   * prefix listing of its own); see {@link PrefixListing}.
   *
   * @example
   * ```ts
   * await wrapper.checkpointIdentifiersWithPrefix('@series:orders:', { limit: 10 });
   * ```
   */
  async checkpointIdentifiersWithPrefix(
    prefix: string,
    options?: PrefixListingOptions,
  ): Promise<string[]> {
    this.assertOpen();
    return listIdentifiersWithPrefix(this.inner, prefix, options);
  }

  protected doClose(): Promise<void> {
    return this.inner.close();
  }
}

/**
 * An uncommitted handle of a {@link WrapperStorage}: it seals each value and passes it
 * to the inner storage's handle.
 */
export class WrappedUncommittedCheckpoint extends BaseUncommittedCheckpoint {
  constructor(
    private readonly wrapper: WrapperStorage,
    /** The inner storage's handle for the same checkpoint. */
    readonly inner: UncommittedCheckpoint,
  ) {
    super(inner.identifier, wrapper);
  }

  protected async writeBytes(key: string, bytes: Uint8Array): Promise<void> {
    const sealed = this.wrapper.seal(this.identifier, key, bytes);
    // `bytes` was encoded or copied by the outer handle, and `sealed` is either it or new:
    // nobody else holds it, so our own inner handles may keep it without another copy.
    const inner = this.inner;
    if (inner instanceof BaseUncommittedCheckpoint) await inner.putOwnedBytes(key, sealed);
    else await inner.putBytes(key, sealed);
  }

  protected async readBytes(key: string): Promise<Uint8Array> {
    return this.wrapper.unseal(this.identifier, key, await this.inner.getBytes(key));
  }

  protected deleteKey(key: string): Promise<void> {
    return this.inner.remove(key);
  }

  override setLabel(label: string): void {
    super.setLabel(label);
    this.inner.setLabel?.(label);
  }

  protected listKeys(): Promise<string[]> {
    return this.inner.keys();
  }

  protected async abandon(): Promise<void> {
    try {
      await this.inner.discard();
    } finally {
      this.wrapper.uncommittedClosed(this.identifier);
    }
  }
}

/** A committed handle of a {@link WrapperStorage}: it unseals each value it reads. */
export class WrappedCommittedCheckpoint extends BaseCommittedCheckpoint {
  constructor(
    private readonly wrapper: WrapperStorage,
    /** The inner storage's handle for the same checkpoint. */
    readonly inner: CommittedCheckpoint,
  ) {
    super(inner.identifier, inner.createdAt, inner.label);
  }

  protected async readBytes(key: string): Promise<Uint8Array> {
    return this.wrapper.unseal(this.identifier, key, await this.inner.getBytes(key));
  }

  protected listKeys(): Promise<string[]> {
    return this.inner.keys();
  }

  protected override async onRelease(): Promise<void> {
    try {
      await this.inner.release();
    } finally {
      this.wrapper.committedReleased(this.identifier);
    }
  }
}
