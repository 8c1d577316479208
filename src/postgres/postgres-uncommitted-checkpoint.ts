import { randomUUID } from 'node:crypto';
import { BufferedUncommittedCheckpoint } from '../storage/buffered-uncommitted-checkpoint';

/**
 * An uncommitted checkpoint of a {@link PostgresStorage}: its values wait in this
 * process, as encoded bytes, until the commit transaction writes them. Made by
 * `createCheckpoint()`, never directly.
 *
 * @example
 * ```ts
 * const draft = await storage.createCheckpoint('order-42'); // no row written yet
 * await draft.put('order', order);
 * await storage.commitCheckpoint(draft); // one transaction
 * ```
 */
export class PostgresUncommittedCheckpoint extends BufferedUncommittedCheckpoint {
  /** @internal recorded with the row, so a retried commit recognises its own earlier attempt */
  readonly token = randomUUID();
}
