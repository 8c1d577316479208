import type { Pool } from 'pg';
import { wholeNumberOption } from '../database/whole-number-option';

/**
 * Options of {@link PostgresStorage.open}.
 *
 * @example
 * ```ts
 * const options: PostgresStorageOptions = {
 *   connectionString: process.env.DATABASE_URL,
 *   table: 'app.checkpoints',
 *   connectTimeoutMs: 2000,
 * };
 * ```
 */
export interface PostgresStorageOptions {
  /**
   * `postgres://user:password@host:5432/database`. Required unless `pool` is given; the
   * storage then makes its own pool and ends it on `close()`.
   */
  connectionString?: string;
  /**
   * A `pg` Pool the application already has. The storage borrows it and never ends it:
   * `close()` leaves it to its owner. Its own settings apply, except that open() still
   * gives up after `connectTimeoutMs`.
   */
  pool?: Pool;
  /** The checkpoint table, `name` or `schema.name`; `'checkpointable'` by default. */
  table?: string;
  /** How long to wait for a connection before failing (at least 1); 5000 ms by default. */
  connectTimeoutMs?: number;
  /**
   * How long one query may take before it fails with `Io` (and its connection is
   * dropped); 0, the default, waits as long as the server does.
   */
  queryTimeoutMs?: number;
  /** The most connections the storage's own pool opens; 10 by default. */
  maxConnections?: number;
  /**
   * Shown in `pg_stat_activity.application_name`, so a DBA can tell these connections
   * apart; `'checkpointable'` by default (an `application_name` in the URL wins).
   */
  applicationName?: string;
  /**
   * Whether the storage's statements are prepared once per connection (named prepared
   * statements), so the server neither parses nor plans them again on each commit;
   * `true` by default. Set it to `false` behind a connection pooler that cannot keep
   * prepared statements apart per client, such as PgBouncer before 1.21 in transaction
   * mode (or 1.21 and later with `max_prepared_statements = 0`).
   */
  prepareStatements?: boolean;
}

/**
 * Checks a numeric option of {@link PostgresStorageOptions}: a duration in milliseconds
 * (a name ending in `Ms`), or else a number of connections.
 *
 * @throws {CheckpointError} `Initialization` when it is not a whole number of at least `min`
 *
 * @example
 * ```ts
 * const max = positive(options.maxConnections, 10, 'maxConnections', 1);
 * ```
 */
export function positive(
  value: number | undefined,
  fallback: number,
  name: string,
  min = 0,
): number {
  const unit = name.endsWith('Ms') ? 'milliseconds' : 'connections';
  return wholeNumberOption('PostgresStorage', name, value, fallback, min, unit);
}
