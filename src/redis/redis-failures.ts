import { CheckpointError, quote } from '../errors';
import { describeCause, type ServerAddress } from '../database/server-address';

/** Whether Redis refused a command because a key holds another type. */
export function wrongType(error: unknown): boolean {
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' && message.includes('WRONGTYPE');
}

/**
 * The cause as a user should read it. ioredis reports a command cut off by a dropped
 * connection as "Reached the max retries per request limit" (with `maxRetriesPerRequest:
 * 0`) or, inside MULTI, as an AbortError; neither says plainly what happened.
 */
export function lostOr(error: unknown, address: ServerAddress): string {
  const name = (error as { name?: unknown } | null)?.name;
  if (name === 'MaxRetriesPerRequestError' || name === 'AbortError')
    return 'the connection to the server was lost while the command was under way';
  return describeCause(error, address);
}

/** `Conflict`: the checkpoint changed under every re-read of its index entry. */
export function busy(identifier: string, what: string): CheckpointError {
  return new CheckpointError(
    'Conflict',
    `Checkpoint ${quote(identifier)} kept being removed and recommitted by other writers while this process tried to ${what} it; retry.`,
    { identifier },
  );
}

/** `Initialization`: open() could not reach the server at `address`. */
export function openFailure(address: ServerAddress, error: unknown): CheckpointError {
  return new CheckpointError(
    'Initialization',
    `RedisStorage could not connect to Redis at ${address.display}: ${describeCause(error, address)}. Check that the server is running and reachable from here, and that the url (host, port, password, database) is right.`,
    { cause: error },
  );
}
