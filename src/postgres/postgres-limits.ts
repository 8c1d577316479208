import type { BatchLimits } from '../database/batches';

/**
 * Up to this many values, the commit statement is prepared. Its text depends on the
 * number of values, so each count is one more prepared statement per connection; small
 * checkpoints are where planning costs most relative to the work (measured: planning the
 * two-table INSERT took about half of a one-value commit's server time), and capping the
 * counts keeps the server memory each pooled connection holds small and bounded.
 */
export const PREPARED_ROWS = 16;
/**
 * Values of at least this many bytes are streamed into the table with COPY (see
 * `copy-values.ts`) rather than sent as one statement parameter, which pg copies whole
 * into its message: a commit then holds such a value once instead of about three times.
 * Smaller values go in the INSERT batches, where one statement carries many of them.
 */
export const COPY_BYTES = 4 * 1024 * 1024;
/**
 * Rows and bytes per INSERT of a commit: few round trips, no giant statement. Values
 * of {@link COPY_BYTES} and more are left to COPY.
 */
export const INSERT_BATCH: BatchLimits = {
  entries: 500,
  bytes: 16 * 1024 * 1024,
  skipFrom: COPY_BYTES, // streamed by COPY
};
/**
 * The largest value PostgresStorage stores: 1 GiB less 64 KiB. A `bytea` holds at most
 * 1 GiB less a few bytes, and a value travels in one Bind message, which the server
 * caps at 1 GiB as well; the 64 KiB leave room for the key and the message's framing.
 * Larger values are refused at commit, before anything is sent.
 */
export const MAX_POSTGRES_VALUE_BYTES = 1024 * 1024 * 1024 - 64 * 1024;
/**
 * Values are read in slices of this many bytes (`substring`), each into its place in
 * one buffer of the value's size: pg returns `bytea` as hex text, and a value read
 * whole would need twice its size as one string (past 256 MiB, more than a JavaScript
 * string can hold) on top of the text's buffer and the parsed copy. Measured on a 200 MiB
 * value: 8 MiB slices read as fast as one whole read, at a fifth of its peak memory.
 */
export const READ_CHUNK_BYTES = 8 * 1024 * 1024;
/** The most keys one checkpoint may list: a bound on what a damaged table can make us hold. */
export const MAX_POSTGRES_KEYS = 1_000_000;
/**
 * A PostgreSQL regular expression for stored names the grammar may refuse: control
 * characters (U+0001 also escapes lone surrogates, so escaped names match too) and
 * path separators.
 */
export const SUSPECT_NAME = '[\\u0001-\\u001f\\u007f-\\u009f/\\\\]';
/** The most checkpoints one listing may return, for the same reason. */
export const MAX_POSTGRES_CHECKPOINTS = 10_000_000;
/** The longest `key_list` written or read (characters); longer lists are left NULL. */
export const MAX_KEY_LIST = 1024 * 1024;
/** From this many identifiers on, a summary reads the whole table instead of matching them. */
export const SUMMARY_SCAN = 1000;
/** Rows one statement of a prefix listing reads at most. */
export const PREFIX_BATCH = 10_000;
