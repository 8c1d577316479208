/**
 * Whether a driver error means the connection dropped (so the command may be sent again
 * on a new one), as opposed to the server refusing the command. Only idempotent reads
 * act on it: they retry once after reconnecting; commits keep their own retry rules.
 */

const SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ETIMEDOUT', 'ENOTCONN']);
/**
 * SQLSTATE class 08 (connection exception), and 57P01-57P03: the backend was terminated
 * (pg_terminate_backend, a fast shutdown) or the server is restarting.
 */
const SQLSTATES = /^(08...|57P0[123])$/;
/** pg's and ioredis's words for a socket that closed under a command. */
const MESSAGES =
  /Connection terminated|not queryable|Connection is closed|Connection ended|socket hang up/i;

/**
 * @param error what the driver threw
 * @returns true when the connection was lost under the command
 *
 * @example
 * ```ts
 * if (attempt === 0 && connectionLost(error)) continue; // read again, once
 * ```
 */
export function connectionLost(error: unknown): boolean {
  const e = error as { code?: unknown; name?: unknown; message?: unknown } | null;
  if (e === null || typeof e !== 'object') return false;
  // ioredis, with maxRetriesPerRequest 0: the command was cut off by a dropped connection.
  if (e.name === 'MaxRetriesPerRequestError' || e.name === 'AbortError') return true;
  if (typeof e.code === 'string' && (SOCKET_CODES.has(e.code) || SQLSTATES.test(e.code)))
    return true;
  return typeof e.message === 'string' && MESSAGES.test(e.message);
}
