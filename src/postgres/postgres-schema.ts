import type { PoolClient } from 'pg';
import { CheckpointError } from '../errors';
import { sortKey } from '../database/sort-key';
import { MAX_STORED_NAME, nameFromStored } from '../database/stored-name';

/**
 * The tables of a PostgresStorage, and how they are created and versioned.
 *
 * For `table: 'checkpointable'` (the default):
 * ```sql
 * CREATE TABLE "checkpointable" (            -- one narrow row per committed checkpoint
 *   id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
 *   identifier   text COLLATE "C" NOT NULL UNIQUE,   -- the unique constraint behind AlreadyExists
 *   created_at   timestamptz NOT NULL DEFAULT now(),
 *   commit_token uuid NOT NULL,                       -- which handle committed it (safe retries)
 *   label        text,                                -- setLabel(), escaped (see stored-label.ts)
 *   sort_key     bytea NOT NULL,                      -- the identifier's UTF-16 units, big-endian
 *   key_list     text                                 -- 'key/size' entries joined by '\', for listing
 * );
 * CREATE INDEX "checkpointable_sort_key" ON "checkpointable" (sort_key);
 * CREATE TABLE "checkpointable_values" (     -- the payloads
 *   checkpoint_id bigint NOT NULL REFERENCES "checkpointable" (id) ON DELETE CASCADE,
 *   key           text COLLATE "C" NOT NULL,
 *   value         bytea NOT NULL,
 *   PRIMARY KEY (checkpoint_id, key)
 * );
 * COMMENT ON TABLE "checkpointable" IS 'checkpointable schema 2';
 * ```
 * Payloads sit in their own table, so listing reads only the narrow checkpoint table
 * (through its unique index) and never a value. Values hang off the checkpoint's `id`,
 * not its identifier: a handle on a removed checkpoint can never read the values of a
 * newer checkpoint that reused the identifier. `COLLATE "C"` makes equality and the
 * index byte-wise, whatever the database's locale.
 *
 * `sort_key` orders identifiers exactly as JavaScript does (see `sort-key.ts`): prefix
 * listings are an index range scan on it, newest or oldest first. `key_list` repeats the
 * keys and value sizes (`octet_length`) of the checkpoint, written by the same commit, so
 * that summarizing 10,000 checkpoints reads 10,000 narrow rows instead of joining their
 * values; it is NULL past 1 MiB (a checkpoint of very many keys), and such rows are
 * summarized from the values table.
 *
 * The comment carries the schema version. Open reads it under the advisory lock: schema 1
 * (no `label`, `sort_key`, `key_list`) is migrated in place in the same transaction (columns
 * added, every row's sort key and key list filled, the index built, the comment bumped), so either all of it
 * happened or none; a number newer than this release is refused (`Version`) rather than
 * guessed at. Open then checks that the columns this release uses are there, so a
 * migration that did not run is an error at open, never a failure later.
 */

/**
 * The schema version this release writes and reads (exported as `POSTGRES_SCHEMA_VERSION`).
 *
 * @example
 * ```ts
 * // SELECT obj_description('checkpointable'::regclass) -> 'checkpointable schema 2'
 * console.log(POSTGRES_SCHEMA_VERSION); // 2
 * ```
 */
export const SCHEMA_VERSION = 2;
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
  /** The quoted sort-key index, e.g. `"checkpoints_sort_key"` (in the table's schema). */
  readonly sortIndex: string;
}

const PART = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** PostgreSQL truncates names at 63 bytes; `_values_pkey` and `_sort_key` must still fit. */
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
    sortIndex: `"${name}_sort_key"`,
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
        commit_token uuid NOT NULL,
        label text,
        sort_key bytea NOT NULL,
        key_list text)`);
      await client.query(`CREATE INDEX ${names.sortIndex} ON ${checkpoints} (sort_key)`);
      await client.query(`CREATE TABLE ${values} (
        checkpoint_id bigint NOT NULL REFERENCES ${checkpoints} (id) ON DELETE CASCADE,
        key text COLLATE "C" NOT NULL,
        value bytea NOT NULL,
        PRIMARY KEY (checkpoint_id, key))`);
      await setVersion(client, names);
    } else {
      const version = checkVersion(found.rows[0].comment, names);
      const values = await client.query(`SELECT to_regclass($1) IS NOT NULL AS present`, [
        names.values,
      ]);
      if (values.rows[0].present !== true) {
        throw new CheckpointError(
          'Initialization',
          `PostgreSQL table ${names.given} has lost its values table ${names.given}_values, so its checkpoints cannot be read; restore that table from a backup, or drop ${names.given} and let open() create both again.`,
        );
      }
      if (version === 1) await migrateFrom1(client, names);
      await checkColumns(client, names);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** Rows whose sort keys one statement of the migration fills. */
const MIGRATION_BATCH = 10_000;

/**
 * Schema 1 to 2, inside the caller's locked transaction: adds `label` and `sort_key`,
 * fills the sort key of every row (computed here: PostgreSQL has no UTF-16), builds the
 * index and bumps the comment. Rows are read in `id` order, a batch at a time, so the
 * migration of a large table holds a batch in memory, not the table.
 */
async function migrateFrom1(client: PoolClient, names: TableNames): Promise<void> {
  const { checkpoints } = names;
  await client.query(
    `ALTER TABLE ${checkpoints} ADD COLUMN IF NOT EXISTS label text,
       ADD COLUMN IF NOT EXISTS sort_key bytea, ADD COLUMN IF NOT EXISTS key_list text`,
  );
  for (let after = '0'; ;) {
    const rows = await client.query<{ id: string; identifier: string }>(
      `SELECT id, left(identifier, ${MAX_STORED_NAME + 1}) AS identifier FROM ${checkpoints}
       WHERE id > $1 ORDER BY id LIMIT ${MIGRATION_BATCH}`,
      [after],
    );
    if (rows.rows.length === 0) break;
    // An identifier outside the grammar still gets a key (listings skip it, and
    // listDamaged() reports it), so that the column can be NOT NULL.
    await client.query(
      `UPDATE ${checkpoints} AS c SET sort_key = x.sort_key
       FROM unnest($1::bigint[], $2::bytea[]) AS x (id, sort_key) WHERE c.id = x.id`,
      [rows.rows.map((r) => r.id), rows.rows.map((r) => sortKey(nameFromStored(r.identifier)))],
    );
    after = rows.rows[rows.rows.length - 1].id;
  }
  await client.query(`ALTER TABLE ${checkpoints} ALTER COLUMN sort_key SET NOT NULL`);
  await client.query(
    `UPDATE ${checkpoints} AS c SET key_list = coalesce(
       (SELECT string_agg(v.key || '/' || octet_length(v.value), '\\')
        FROM ${names.values} v WHERE v.checkpoint_id = c.id), '')`,
  );
  await client.query(`CREATE INDEX IF NOT EXISTS ${names.sortIndex} ON ${checkpoints} (sort_key)`);
  await setVersion(client, names);
}

async function setVersion(client: PoolClient, names: TableNames): Promise<void> {
  await client.query(
    `COMMENT ON TABLE ${names.checkpoints} IS '${COMMENT_PREFIX}${SCHEMA_VERSION}'`,
  );
}

/** The columns this release reads and writes must be there, whatever the comment says. */
async function checkColumns(client: PoolClient, names: TableNames): Promise<void> {
  const found = await client.query<{ name: string }>(
    `SELECT attname AS name FROM pg_attribute
     WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped`,
    [names.checkpoints],
  );
  const present = new Set(found.rows.map((r) => r.name));
  const missing = REQUIRED_COLUMNS.filter((c) => !present.has(c));
  if (missing.length > 0) {
    throw new CheckpointError(
      'Initialization',
      `PostgreSQL table ${names.given} says it holds checkpointable schema ${SCHEMA_VERSION} but lacks the column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}: its migration did not run or was undone. Restore the table from a backup, or set its comment back to '${COMMENT_PREFIX}1' so that open() migrates it again.`,
    );
  }
}

const REQUIRED_COLUMNS = [
  'id',
  'identifier',
  'created_at',
  'commit_token',
  'label',
  'sort_key',
  'key_list',
];

/** The schema version a table holds when this release can read it (1 is migrated). */
function checkVersion(comment: string | null, names: TableNames): number {
  const version = comment?.startsWith(COMMENT_PREFIX)
    ? Number(comment.slice(COMMENT_PREFIX.length))
    : NaN;
  if (version === SCHEMA_VERSION || version === 1) return version;
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
