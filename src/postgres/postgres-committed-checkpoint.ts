import { BaseCommittedCheckpoint, keyNotFound } from '../storage/base-checkpoints';
import { removedWhileOpen } from '../storage/base-storage';
import type { PostgresStorage } from './postgres-storage';

/**
 * A committed checkpoint of a {@link PostgresStorage}: its row id and key list, read
 * once; each value is fetched when asked for.
 */
export class PostgresCommittedCheckpoint extends BaseCommittedCheckpoint {
  private readonly keySet: Set<string>;

  constructor(
    private readonly storage: PostgresStorage,
    identifier: string,
    private readonly id: string,
    createdAt: Date,
    keys: string[],
    label: string | undefined,
  ) {
    super(identifier, createdAt, label);
    this.keySet = new Set(keys);
  }

  protected async readBytes(key: string): Promise<Uint8Array> {
    if (!this.keySet.has(key)) throw keyNotFound(this.identifier, key);
    const bytes = await this.storage.readValue(this.id, this.identifier, key);
    if (bytes === undefined) {
      throw removedWhileOpen(this.identifier, key);
    }
    return bytes;
  }

  protected async listKeys(): Promise<string[]> {
    return [...this.keySet];
  }
}
