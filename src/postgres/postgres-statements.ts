import { MAX_STORED_LABEL } from '../database/stored-label';
import { MAX_STORED_NAME } from '../database/stored-name';
import {
  MAX_KEY_LIST,
  MAX_POSTGRES_CHECKPOINTS,
  MAX_POSTGRES_KEYS,
  READ_CHUNK_BYTES,
} from './postgres-limits';
import type { TableNames } from './postgres-schema';

/*
 * The SQL text of PostgresStorage, one function per statement, each taking the tables'
 * quoted names. Names read back are cut at one character past the longest stored name
 * (`left(..., MAX_STORED_NAME + 1)`) so that a damaged row cannot make the client hold
 * more, while still showing that it is too long.
 */

/**
 * Whether a checkpoint is committed: a row when it is, none when not. `$1`: stored identifier.
 *
 * @example
 * ```ts
 * await pool.query(existsStatement(names), [storedName('order-42')]);
 * ```
 */
export function existsStatement(names: TableNames): string {
  return `SELECT 1 FROM ${names.checkpoints} WHERE identifier = $1`;
}

/**
 * Inserts a checkpoint row unless its identifier is taken, returning `id, created_at`.
 * `$1`-`$5`: stored identifier, commit token, label, sort key, key list.
 *
 * @example
 * ```ts
 * await client.query(insertCheckpointStatement(names), params);
 * ```
 */
export function insertCheckpointStatement(names: TableNames): string {
  return `INSERT INTO ${names.checkpoints} (identifier, commit_token, label, sort_key, key_list)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (identifier) DO NOTHING RETURNING id, created_at`;
}

/**
 * {@link insertCheckpointStatement} and the values `rows` (`($n::text, $m::bytea)`) in
 * one statement, returning `id, created_at` of the row when it was inserted.
 *
 * @example
 * ```ts
 * await client.query(insertCheckpointWithValuesStatement(names, ['($6::text, $7::bytea)']), params);
 * ```
 */
export function insertCheckpointWithValuesStatement(names: TableNames, rows: string[]): string {
  return `WITH c AS (${insertCheckpointStatement(names)}),
             v AS (INSERT INTO ${names.values} (checkpoint_id, key, value)
                   SELECT c.id, x.key, x.value FROM c CROSS JOIN (VALUES ${rows.join(', ')}) AS x (key, value))
             SELECT id, created_at FROM c`;
}

/**
 * The row and commit token of a committed checkpoint. `$1`: stored identifier.
 *
 * @example
 * ```ts
 * await client.query(commitTokenStatement(names), [storedName('order-42')]);
 * ```
 */
export function commitTokenStatement(names: TableNames): string {
  return `SELECT id, created_at, commit_token FROM ${names.checkpoints} WHERE identifier = $1`;
}

/**
 * Inserts the values `rows` (`($1, $n, $m)`: checkpoint id, stored key, bytes).
 *
 * @example
 * ```ts
 * await client.query(insertValuesStatement(names, ['($1, $2, $3)']), [id, 'order', bytes]);
 * ```
 */
export function insertValuesStatement(names: TableNames, rows: string[]): string {
  return `INSERT INTO ${names.values} (checkpoint_id, key, value) VALUES ${rows.join(', ')}`;
}

/**
 * A checkpoint's row, its number of keys and, unless there are more than a checkpoint may
 * list, one row per key. `$1`: stored identifier.
 *
 * @example
 * ```ts
 * await pool.query(loadStatement(names), [storedName('order-42')]);
 * ```
 */
export function loadStatement(names: TableNames): string {
  return `WITH c AS (SELECT id, created_at, left(label, ${MAX_STORED_LABEL + 1}) AS label
                  FROM ${names.checkpoints} WHERE identifier = $1),
            n AS (SELECT count(*) AS count FROM ${names.values} v JOIN c ON v.checkpoint_id = c.id)
       SELECT c.id, c.created_at, c.label, n.count, left(v.key, ${MAX_STORED_NAME + 1}) AS key
       FROM c CROSS JOIN n
       LEFT JOIN ${names.values} v ON v.checkpoint_id = c.id AND n.count <= ${MAX_POSTGRES_KEYS}`;
}

/**
 * Summaries from the checkpoint rows' `key_list`: of every checkpoint (`all`, one past the
 * most a listing returns), or of those in `$1` (stored identifiers).
 *
 * @example
 * ```ts
 * await pool.query(summaryStatement(names, false), [['order-42']]);
 * ```
 */
export function summaryStatement(names: TableNames, all: boolean): string {
  return `SELECT identifier, floor(extract(epoch FROM created_at) * 1000)::float8 AS created_ms,
              left(label, ${MAX_STORED_LABEL + 1}) AS label, '0' AS count,
              CASE WHEN length(key_list) <= ${MAX_KEY_LIST} THEN key_list END AS list
       FROM ${names.checkpoints}
       ${all ? `LIMIT ${MAX_POSTGRES_CHECKPOINTS + 1}` : 'WHERE identifier = ANY($1::text[])'}`;
}

/**
 * Summaries of the checkpoints in `$1` (stored identifiers) from their values, for rows
 * whose `key_list` is missing.
 *
 * @example
 * ```ts
 * await pool.query(summaryFromValuesStatement(names), [['order-42']]);
 * ```
 */
export function summaryFromValuesStatement(names: TableNames): string {
  return `SELECT c.identifier, floor(extract(epoch FROM c.created_at) * 1000)::float8 AS created_ms,
                left(c.label, ${MAX_STORED_LABEL + 1}) AS label, k.count, k.list
         FROM ${names.checkpoints} c CROSS JOIN LATERAL
           (SELECT count(*) AS count,
                   CASE WHEN count(*) <= ${MAX_POSTGRES_KEYS}
                        THEN coalesce(string_agg(left(v.key, ${MAX_STORED_NAME + 1}) || '/' || octet_length(v.value), '\\'), '') END AS list
            FROM ${names.values} v WHERE v.checkpoint_id = c.id) k
         WHERE c.identifier = ANY($1::text[])`;
}

/**
 * One step of a prefix listing: identifiers and sort keys matching `where`, in sort-key
 * order, at most `$<limitParam>` of them.
 *
 * @example
 * ```ts
 * await pool.query(prefixStatement(names, ['sort_key >= $1'], false, 2), [low, 100]);
 * ```
 */
export function prefixStatement(
  names: TableNames,
  where: string[],
  descending: boolean,
  limitParam: number,
): string {
  return `SELECT left(identifier, ${MAX_STORED_NAME + 1}) AS identifier, sort_key
         FROM ${names.checkpoints} WHERE ${where.join(' AND ')}
         ORDER BY sort_key ${descending ? 'DESC' : 'ASC'} LIMIT $${limitParam}`;
}

/**
 * Removes a checkpoint; its values go with it (ON DELETE CASCADE). `$1`: stored identifier.
 *
 * @example
 * ```ts
 * await pool.query(removeStatement(names), [storedName('order-42')]);
 * ```
 */
export function removeStatement(names: TableNames): string {
  return `DELETE FROM ${names.checkpoints} WHERE identifier = $1`;
}

/**
 * Every stored identifier (one past the most a listing returns), with its real length and
 * sort key when `lengths`.
 *
 * @example
 * ```ts
 * await pool.query(storedIdentifiersStatement(names, false));
 * ```
 */
export function storedIdentifiersStatement(names: TableNames, lengths: boolean): string {
  return `SELECT left(identifier, ${MAX_STORED_NAME + 1}) AS identifier${lengths ? ', length(identifier) AS length, sort_key' : ''}
       FROM ${names.checkpoints} LIMIT ${MAX_POSTGRES_CHECKPOINTS + 1}`;
}

/**
 * The keys the grammar may refuse (too long, matching the regular expression `$1`, or a
 * dot name), with their checkpoint's identifier.
 *
 * @example
 * ```ts
 * await pool.query(suspectKeysStatement(names), [SUSPECT_NAME]);
 * ```
 */
export function suspectKeysStatement(names: TableNames): string {
  return `SELECT left(v.key, ${MAX_STORED_NAME + 1}) AS key, length(v.key) AS length,
              left(c.identifier, ${MAX_STORED_NAME + 1}) AS identifier
       FROM ${names.values} v JOIN ${names.checkpoints} c ON c.id = v.checkpoint_id
       WHERE length(v.key) > 255 OR v.key ~ $1 OR v.key IN ('', '.', '..')
       LIMIT ${MAX_POSTGRES_KEYS}`;
}

/**
 * A value's size and its first slice, as hex. `$1`, `$2`: checkpoint id, stored key.
 *
 * @example
 * ```ts
 * await pool.query(firstSliceStatement(names), [checkpointId, 'order']);
 * ```
 */
export function firstSliceStatement(names: TableNames): string {
  return `SELECT octet_length(value) AS size, encode(substring(value from 1 for ${READ_CHUNK_BYTES}), 'hex') AS part
       FROM ${names.values} WHERE checkpoint_id = $1 AND key = $2`;
}

/**
 * The slice of a value from byte `$3` (1-based), as hex. `$1`, `$2`: checkpoint id, stored key.
 *
 * @example
 * ```ts
 * await pool.query(sliceStatement(names), [checkpointId, 'order', 8 * 1024 * 1024 + 1]);
 * ```
 */
export function sliceStatement(names: TableNames): string {
  return `SELECT encode(substring(value from $3 for ${READ_CHUNK_BYTES}), 'hex') AS part
         FROM ${names.values} WHERE checkpoint_id = $1 AND key = $2`;
}
