import { BaseUncommittedCheckpoint, keyNotFound } from './base-checkpoints';

/**
 * An uncommitted checkpoint that keeps its values in this process, as encoded bytes,
 * until the storage publishes them all at once on commit. MemoryStorage, PostgresStorage
 * and RedisStorage use it: nothing reaches the medium before commit, so a crash leaves
 * nothing behind, each value is sent once, and reading your own writes costs no I/O. The
 * price is memory: an open checkpoint holds its values.
 *
 * @example
 * ```ts
 * class MyUncommitted extends BufferedUncommittedCheckpoint {}
 * // in MyStorage.doCommit(checkpoint): write checkpoint.values in one transaction
 * ```
 */
export class BufferedUncommittedCheckpoint extends BaseUncommittedCheckpoint {
  /** The values put so far, by key: what a storage's `doCommit` publishes at once. */
  readonly values = new Map<string, Uint8Array>();

  protected async writeBytes(key: string, bytes: Uint8Array): Promise<void> {
    this.values.set(key, bytes);
  }

  protected async readBytes(key: string): Promise<Uint8Array> {
    const bytes = this.values.get(key);
    if (bytes === undefined) throw keyNotFound(this.identifier, key);
    // Uint8Array's slice copies; Buffer's slice would return a view of the stored bytes.
    return Uint8Array.prototype.slice.call(bytes);
  }

  protected async deleteKey(key: string): Promise<void> {
    if (!this.values.delete(key)) throw keyNotFound(this.identifier, key);
  }

  protected async listKeys(): Promise<string[]> {
    return [...this.values.keys()];
  }

  protected async abandon(): Promise<void> {
    this.values.clear();
  }
}
