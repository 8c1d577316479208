import { GuardWrapper } from '../wrappers/guard-wrapper';
import { BaseCommittedCheckpoint, keyNotFound } from '../storage/base-checkpoints';
import { alreadyCommitted, BaseStorage, checkpointNotFound } from '../storage/base-storage';
import type {
  CheckpointSummaries,
  CheckpointSummary,
  SummaryListing,
} from '../storage/checkpoint-summaries';
import { sortNames } from '../storage/names';
import type { CommittedCheckpoint, CreateCheckpointOptions, Storage } from '../storage/storage';
import {
  checkedListingOptions,
  type PrefixListing,
  type PrefixListingOptions,
} from '../storage/prefix-listing';
import { SortedNames } from '../storage/sorted-names';
import { BufferedUncommittedCheckpoint } from '../storage/buffered-uncommitted-checkpoint';

interface StoredCheckpoint {
  readonly createdAt: Date;
  readonly values: ReadonlyMap<string, Uint8Array>;
  readonly label?: string;
  /** Its summary, made on first use: a committed checkpoint never changes. */
  summary?: CheckpointSummary;
}

/**
 * Checkpoints in this process's memory: for tests, caches and short-lived jobs. Values
 * are kept as encoded bytes, so changing an object after `put` never changes a
 * checkpoint, and each `get` returns a new copy.
 *
 * `MemoryStorage.create()` returns it wrapped in a {@link GuardWrapper} (the usual way);
 * `new MemoryStorage()` is the bare storage, for building wrapper chains.
 *
 * @example
 * ```ts
 * const storage = MemoryStorage.create();
 * const draft = await storage.createCheckpoint('a');
 * await draft.put('n', 1);
 * const saved = await storage.commitCheckpoint(draft);
 * await saved.get('n'); // 1
 * ```
 */
export class MemoryStorage
  extends BaseStorage<MemoryUncommittedCheckpoint>
  implements SummaryListing, PrefixListing
{
  protected readonly storageName = 'MemoryStorage';
  readonly #committed = new Map<string, StoredCheckpoint>();
  /** The committed identifiers in listing order, for prefix listings. */
  #sorted = new SortedNames();

  /**
   * A new, empty, guarded memory storage.
   *
   * @example
   * ```ts
   * const storage = MemoryStorage.create();
   * ```
   */
  static create(): Storage {
    return GuardWrapper.wrap(new MemoryStorage());
  }

  protected async doCreate(
    identifier: string,
    options: CreateCheckpointOptions,
  ): Promise<MemoryUncommittedCheckpoint> {
    if (options.checkExists !== false && this.#committed.has(identifier)) {
      throw alreadyCommitted(identifier);
    }
    return new MemoryUncommittedCheckpoint(identifier, this);
  }

  protected async doCommit(checkpoint: MemoryUncommittedCheckpoint): Promise<CommittedCheckpoint> {
    const { identifier } = checkpoint;
    if (this.#committed.has(identifier)) throw alreadyCommitted(identifier);
    // The handle is used up from here on, so its map can become the checkpoint's.
    const stored: StoredCheckpoint = {
      createdAt: new Date(),
      values: checkpoint.values,
      label: checkpoint.label,
    };
    this.#committed.set(identifier, stored);
    this.#sorted.add(identifier);
    return new MemoryCommittedCheckpoint(identifier, stored);
  }

  protected async doLoad(identifier: string): Promise<CommittedCheckpoint> {
    const stored = this.#committed.get(identifier);
    if (stored === undefined) throw checkpointNotFound(identifier);
    return new MemoryCommittedCheckpoint(identifier, stored);
  }

  protected async doRemove(identifier: string): Promise<void> {
    if (!this.#committed.delete(identifier)) throw checkpointNotFound(identifier);
    this.#sorted.delete(identifier);
  }

  protected async doList(): Promise<string[]> {
    return [...this.#committed.keys()];
  }

  /**
   * The summaries of the committed checkpoints among `identifiers` (see
   * {@link SummaryListing}): keys, sizes and label, read from memory.
   * @example
   * ```ts
   * const [summary] = await storage.summarizeCheckpoints(['order-42']);
   * ```
   */
  async summarizeCheckpoints(identifiers: readonly string[]): Promise<CheckpointSummaries> {
    this.assertOpen();
    const out: CheckpointSummary[] = [];
    for (const identifier of identifiers) {
      const stored = this.#committed.get(identifier);
      if (stored === undefined) continue;
      stored.summary ??= summaryOf(identifier, stored);
      out.push(stored.summary);
    }
    return { summaries: out, damaged: [] };
  }

  /**
   * The committed identifiers starting with `prefix`, in order (see {@link PrefixListing}).
   * @throws {CheckpointError} `Released` once closed
   *
   * @example
   * ```ts
   * await storage.checkpointIdentifiersWithPrefix('@series:orders:', { descending: true, limit: 1 });
   * ```
   */
  async checkpointIdentifiersWithPrefix(
    prefix: string,
    options?: PrefixListingOptions,
  ): Promise<string[]> {
    this.assertOpen();
    return this.#sorted.withPrefix(prefix, checkedListingOptions(options));
  }

  protected async doClose(): Promise<void> {
    this.#committed.clear();
    this.#sorted = new SortedNames();
  }
}

function summaryOf(identifier: string, stored: StoredCheckpoint): CheckpointSummary {
  const sizes = new Map<string, number>();
  for (const [key, bytes] of stored.values) sizes.set(key, bytes.byteLength);
  const keys = sortNames([...sizes.keys()]);
  return { identifier, createdAt: stored.createdAt, keys, sizes, label: stored.label };
}

/** An uncommitted checkpoint of a {@link MemoryStorage}. */
export class MemoryUncommittedCheckpoint extends BufferedUncommittedCheckpoint {}

/** A committed checkpoint of a {@link MemoryStorage}. */
class MemoryCommittedCheckpoint extends BaseCommittedCheckpoint {
  constructor(
    identifier: string,
    private readonly stored: StoredCheckpoint,
  ) {
    super(identifier, stored.createdAt, stored.label);
  }

  protected async readBytes(key: string): Promise<Uint8Array> {
    const bytes = this.stored.values.get(key);
    if (bytes === undefined) throw keyNotFound(this.identifier, key);
    // Uint8Array's slice copies; Buffer's slice would return a view of the stored bytes.
    return Uint8Array.prototype.slice.call(bytes);
  }

  protected async listKeys(): Promise<string[]> {
    return [...this.stored.values.keys()];
  }
}
