import { CheckpointError, quote } from '../errors';
import { MAX_ENTRY_BYTES } from './redis-limits';

/** A checkpoint's entry in the index hash: where its data hash is, and when it was committed. */
export interface IndexEntry {
  readonly raw: string;
  readonly dataId: string;
  readonly createdAt: Date;
}

/**
 * An index entry, `<dataId> <createdAt in ms>`, read as bytes and checked before it
 * becomes a string: the data id only in the characters RedisStorage writes (so it can
 * never point outside the prefix's data hashes), the time a real date.
 */
export function parseEntry(raw: Buffer, identifier: string, indexKey: string): IndexEntry {
  const text = raw.length <= MAX_ENTRY_BYTES ? raw.toString('latin1') : '';
  const match = /^([0-9A-Za-z._-]{1,128}) (\d{1,16})$/.exec(text);
  const ms = match === null ? NaN : Number(match[2]);
  if (match === null || !(ms <= 8.64e15)) {
    const shownEntry = raw.length <= MAX_ENTRY_BYTES ? quote(text) : `${raw.length} bytes`;
    throw new CheckpointError(
      'Deserialize',
      `The entry of checkpoint ${quote(identifier)} in Redis hash ${quote(indexKey)} is damaged (${shownEntry}, not "<data id> <milliseconds>"); remove the checkpoint, or restore the Redis data from a backup.`,
      { identifier },
    );
  }
  return { raw: text, dataId: match[1], createdAt: new Date(ms) };
}
