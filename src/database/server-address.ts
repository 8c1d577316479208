/**
 * Where a database server is, in the form error messages show it (`127.0.0.1:5432`),
 * read from a connection URL without ever keeping its password.
 */

/**
 * Host and port of a server, and the password to scrub from driver messages.
 *
 * @example
 * ```ts
 * const address: ServerAddress = { display: 'db:5432', secret: 's3cret' };
 * ```
 */
export interface ServerAddress {
  /** `host:port`, for messages. */
  readonly display: string;
  /** The password in the URL, if any: never shown, only scrubbed from driver messages. */
  readonly secret?: string;
}

/**
 * Reads host and port from a `postgres://` or `redis://` URL. A URL that does not parse
 * is shown as `defaultHost:defaultPort`, never echoed (it may hold a password).
 *
 * @example
 * ```ts
 * serverAddress('postgres://app:secret@db:6543/app', 5432).display; // 'db:6543'
 * ```
 */
export function serverAddress(url: string, defaultPort: number): ServerAddress {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { display: `localhost:${defaultPort}` };
  }
  // libpq also accepts the host as a query parameter (`?host=/run/postgresql`).
  const host = parsed.hostname || parsed.searchParams.get('host') || 'localhost';
  const port = parsed.port || parsed.searchParams.get('port') || String(defaultPort);
  const secret = parsed.password ? decodeURIComponent(parsed.password) : undefined;
  return { display: `${host}:${port}`, ...(secret ? { secret } : {}) };
}

/**
 * A driver's error message, with the password (raw and URL-encoded) replaced by `***`.
 *
 * @example
 * ```ts
 * scrub('auth failed for s3cret', { display: 'db:5432', secret: 's3cret' }); // 'auth failed for ***'
 * ```
 */
export function scrub(message: string, address: ServerAddress): string {
  const { secret } = address;
  if (secret === undefined || secret.length === 0) return message;
  return message.split(secret).join('***').split(encodeURIComponent(secret)).join('***');
}

/**
 * The message of an unknown thrown value, with its code (`ECONNREFUSED`) when it has
 * one, and the password scrubbed.
 *
 * @example
 * ```ts
 * describeCause(error, serverAddress(url, 5432)); // 'connect ECONNREFUSED 127.0.0.1:5432'
 * ```
 */
export function describeCause(error: unknown, address: ServerAddress): string {
  const e = error as { message?: unknown; code?: unknown; errors?: unknown } | null;
  const hasMessage = typeof e?.message === 'string' && e.message.length > 0;
  // AggregateError (IPv4 and IPv6 both refused) has an empty message and the reasons inside.
  if (!hasMessage && Array.isArray(e?.errors) && e.errors.length > 0)
    return describeCause(e.errors[0], address);
  const message = hasMessage ? (e!.message as string) : String(error);
  const code = typeof e?.code === 'string' && !message.includes(e.code) ? ` (${e.code})` : '';
  return scrub(message + code, address);
}
