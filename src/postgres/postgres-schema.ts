import type { PoolClient } from 'pg';
import { CheckpointError } from '../errors';

/**
 * The tables of a PostgresStorage, and how they are created and versioned.
 *
 * For `table: 'checkpointable'` (the default):
 * ```sql
 * CREATE TABLE "checkpointable" (            -- one narrow row per committed checkpoint
 *   id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
 *   identifier   text COLLATE "C" NOT NULL UNIQUE,   -- the unique constraint behind AlreadyExists
 *   created_at   timestamptz NOT NULL DEFAULT now(),
 *   commit_token uuid NOT NULL                        -- which handle committed it (safe retries)
 * );
 * CREATE TABLE "checkpointable_values" (     -- the payloads
 *   checkpoint_id bigint NOT NULL REFERENCES "checkpointable" (id) ON DELETE CASCADE,
 *   key           text COLLATE "C" NOT NULL,
 *   value         bytea NOT NULL,
 *   PRIMARY KEY (checkpoint_id, key)
 * );
 * COMMENT ON TABLE "checkpointable" IS 'checkpointable schema 1';
 * ```
 * Payloads sit in their own table, so listing reads only the narrow checkpoint table
 * (through its unique index) and never a value. Values hang off the checkpoint's `id`,
 * not its identifier: a handle on a removed checkpoint can never read the values of a
 * newer checkpoint that reused the identifier. `COLLATE "C"` makes equality and the
 * index byte-wise, whatever the database's locale.
 *
 * The comment carries the schema version. Open reads it: a later release that changes
 * the layout bumps the number and migrates under the same advisory lock; this release
 * refuses a number it does not know (`Version`) rather than guess.
 */

/**
 * The schema version this release writes and reads (exported as `POSTGRES_SCHEMA_VERSION`).
 *
 * @example
 * ```ts
 * // SELECT obj_description('checkpointable'::regclass) -> 'checkpointable schema 1'
 * console.log(POSTGRES_SCHEMA_VERSION); // 1
 * ```
 */
export const SCHEMA_VERSION = 1;
const COMMENT_PREFIX = 'checkpointable schema ';

/**
 * A table option split and quoted for SQL.
 *
 * @example
 * ```ts
 * const { checkpoints } = tableNames('checkpointable'); // '"checkpointable"'
 * ```
 */
export interface TableNames {
  /** The name as the user gave it, for messages. */
  readonly given: string;
  /** The quoted checkpoint table, e.g. `"app"."checkpoints"`. */
  readonly checkpoints: string;
  /** The quoted values table, e.g. `"app"."checkpoints_values"`. */
  readonly values: string;
}

const PART = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** PostgreSQL truncates names at 63 bytes; `_values` and `_pkey` must still fit. */
const MAX_TABLE = 63 - '_values_pkey'.length;

/**
 * Checks and quotes the `table` option: `name` or `schema.name`, letters, digits and `_`.
 *
 * @throws {CheckpointError} `Initialization` for any other name
 * @example
 * ```ts
 * tableNames('app.checkpoints').values; // '"app"."checkpoints_values"'
 * ```
 */
export function tableNames(given: string): TableNames {
  const parts = typeof given === 'string' ? given.split('.') : [];
  const name = parts[parts.length - 1];
  if (
    parts.length < 1 ||
    parts.length > 2 ||
    !parts.every((p) => PART.test(p)) ||
    name.length > MAX_TABLE
  ) {
    throw new CheckpointError(
      'Initialization',
      `PostgresStorage table ${JSON.stringify(given)} is not a usable name; use letters, digits and '_' (at most ${MAX_TABLE}), optionally after a schema and a dot, such as "checkpointable" or "app.checkpoints".`,
    );
  }
  const schema = parts.length === 2 ? `"${parts[0]}".` : '';
  return {
    given,
    checkpoints: `${schema}"${name}"`,
    values: `${schema}"${name}_values"`,
  };
}

/**
 * Creates the tables if absent and checks the schema version, under an advisory lock so
 * that services starting together do not race on `CREATE TABLE`.
 *
 * @throws {CheckpointError} `Initialization` when the table exists but is not ours;
 *   `Version` when it was written by a release with another schema version
 * @example
 * ```ts
 * await ensureSchema(client, tableNames('checkpointable'));
 * ```
 */
export async function ensureSchema(client: PoolClient, names: TableNames): Promise<void> {
  const { checkpoints, values } = names;
  await client.query('BEGIN');
  try {
    await client.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [
      `checkpointable:${checkpoints}`,
    ]);
    const found = await client.query<{ comment: string | null }>(
      `SELECT obj_description(to_regclass($1), 'pg_class') AS comment WHERE to_regclass($1) IS NOT NULL`,
      [checkpoints],
    );
    if (found.rowCount === 0) {
      await client.query(`CREATE TABLE ${checkpoints} (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        identifier text COLLATE "C" NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now(),
        commit_token uuid NOT NULL)`);
      await client.query(`CREATE TABLE ${values} (
        checkpoint_id bigint NOT NULL REFERENCES ${checkpoints} (id) ON DELETE CASCADE,
        key text COLLATE "C" NOT NULL,
        value bytea NOT NULL,
        PRIMARY KEY (checkpoint_id, key))`);
      await client.query(`COMMENT ON TABLE ${checkpoints} IS '${COMMENT_PREFIX}${SCHEMA_VERSION}'`);
    } else {
      checkVersion(found.rows[0].comment, names);
      const values = await client.query(`SELECT to_regclass($1) IS NOT NULL AS present`, [
        names.values,
      ]);
      if (values.rows[0].present !== true) {
        throw new CheckpointError(
          'Initialization',
          `PostgreSQL table ${names.given} has lost its values table ${names.given}_values, so its checkpoints cannot be read; restore that table from a backup, or drop ${names.given} and let open() create both again.`,
        );
      }
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

function checkVersion(comment: string | null, names: TableNames): void {
  const version = comment?.startsWith(COMMENT_PREFIX)
    ? Number(comment.slice(COMMENT_PREFIX.length))
    : NaN;
  if (version === SCHEMA_VERSION) return;
  if (Number.isInteger(version)) {
    throw new CheckpointError(
      'Version',
      `PostgreSQL table ${names.given} holds checkpointable schema ${version}, but this release reads schema ${SCHEMA_VERSION}; upgrade checkpointable to the release that wrote it.`,
    );
  }
  throw new CheckpointError(
    'Initialization',
    `PostgreSQL table ${names.given} exists but is not a checkpointable table (its comment is not '${COMMENT_PREFIX}N'); choose another table name with the \`table\` option.`,
  );
}
