import { quote } from '../errors';
import { storedName } from '../database/stored-name';
import { BaseCommittedCheckpoint, keyNotFound } from '../storage/base-checkpoints';
import { removedWhileOpen } from '../storage/base-storage';
import type { IndexEntry } from './redis-index-entry';
import type { RedisStorage } from './redis-storage';

/** A committed checkpoint of a {@link RedisStorage}: its data hash and key list. */
export class RedisCommittedCheckpoint extends BaseCommittedCheckpoint {
  private readonly keySet: Set<string>;
  /** @internal the checkpoint's data hash */
  readonly dataKey: string;

  constructor(
    private readonly storage: RedisStorage,
    identifier: string,
    entry: IndexEntry,
    keys: string[],
    label: string | undefined,
  ) {
    super(identifier, entry.createdAt, label);
    this.keySet = new Set(keys);
    this.dataKey = storage.dataKey(entry.dataId);
  }

  protected async readBytes(key: string): Promise<Uint8Array> {
    if (!this.keySet.has(key)) throw keyNotFound(this.identifier, key);
    const bytes = await this.storage.run(
      `read key ${quote(key)} of checkpoint ${quote(this.identifier)}`,
      () => this.storage.client.hgetBuffer(this.dataKey, storedName(key)),
      { details: { identifier: this.identifier, key }, keys: [this.dataKey], retry: true },
    );
    if (bytes === null) {
      throw removedWhileOpen(this.identifier, key);
    }
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
  }

  protected async listKeys(): Promise<string[]> {
    return [...this.keySet];
  }
}
