import { CheckpointError, quote } from '../errors';
import { BaseCommittedCheckpoint, keyNotFound } from '../storage/base-checkpoints';
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
      throw new CheckpointError(
        'NotFound',
        `Checkpoint ${quote(this.identifier)} was removed while this handle was open; use a GuardWrapper (PostgresStorage.open has one) so that a process cannot remove what it still reads.`,
        { identifier: this.identifier, key },
      );
    }
    return bytes;
  }

  protected async listKeys(): Promise<string[]> {
    return [...this.keySet];
  }
}
