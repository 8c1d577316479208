import { randomBytes } from 'node:crypto';
import { BufferedUncommittedCheckpoint } from '../storage/buffered-uncommitted-checkpoint';

/**
 * An uncommitted checkpoint of a {@link RedisStorage}: its values wait in this process,
 * as encoded bytes, until commit sends them. Made by `createCheckpoint()`, never directly.
 *
 * @example
 * ```ts
 * const draft = await storage.createCheckpoint('order-42'); // nothing sent yet
 * await draft.put('order', order);
 * await storage.commitCheckpoint(draft); // one script (large ones: staged, then published)
 * ```
 */
export class RedisUncommittedCheckpoint extends BufferedUncommittedCheckpoint {
  /**
   * @internal names this handle's data hashes, so a retried commit recognises its own:
   * unique across processes (96 random bits drawn once per process) and within one (a
   * counter). A fresh random draw per handle would cost a getrandom() system call on
   * every commit, for no added uniqueness.
   */
  readonly token = `${PROCESS_TOKEN}-${(handles++).toString(36)}`;
  private attempts = 0;

  /** @internal a new data id for one commit attempt */
  nextDataId(): string {
    return `${this.token}.${this.attempts++}`;
  }
}

/** The part of every handle token that tells this process from every other. */
const PROCESS_TOKEN = randomBytes(12).toString('hex');
let handles = 0;
