import type { BatchLimits } from '../database/batches';
import { MAX_STORED_NAME } from '../database/stored-name';

/** Fields and bytes per HSET of a staged commit: few round trips, no giant command. */
export const HSET_BATCH: BatchLimits = { entries: 1000, bytes: 8 * 1024 * 1024 };
/**
 * The one-round-trip bound: a checkpoint of at most this many keys and bytes (values
 * plus key names) is written and published by one script. Why these numbers:
 * - Keys: the script spreads the pairs into one HSET with Lua's `unpack`, which fails
 *   at 8,000 values (measured on Redis 7.0); 1,000 keys are 2,000, one staging batch.
 * - Bytes: a script's arguments are copied into Lua strings and back into Redis values,
 *   copies a plain HSET does not make, all while the server runs nothing else. Measured
 *   on loopback (one key, median of 7 rounds): at 16 KiB the script saves a third of
 *   the commit time, at 64 KiB the two paths are even, from 128 KiB on staging is
 *   faster (at 1 MiB, 3.9 ms against 5.8 ms). Past the bound the copies cost more than
 *   the two round trips they save, and every other client would wait for them.
 */
export const ONE_TRIP_KEYS = 1000;
export const ONE_TRIP_BYTES = 64 * 1024;
/** How often load and remove re-read an index entry that changed under them. */
export const RETRIES = 5;
/** The most keys one checkpoint may list: a bound on what a damaged hash can make us hold. */
export const MAX_REDIS_KEYS = 1_000_000;
/** The most checkpoints one listing may return, for the same reason. */
export const MAX_REDIS_CHECKPOINTS = 10_000_000;
/**
 * The longest index entry read back (`<dataId> <createdAt>` is under 60 bytes); a longer
 * one is damaged and is refused before it becomes a string.
 */
export const MAX_ENTRY_BYTES = 256;
/** Members a prefix listing reads per step inside its script. */
export const RANGE_STEP = 1000;
/** Identifiers per script when open() builds the order set of an older store. */
export const BUILD_BATCH = 1000;
/**
 * The longest stored name in UTF-8 bytes: at most three bytes per UTF-16 unit (a
 * surrogate pair is four bytes for two units). Longer field names are damaged and are
 * refused before they become strings.
 */
export const MAX_STORED_NAME_BYTES = MAX_STORED_NAME * 3;
/** The longest summary written or read, in bytes (see redis-scripts.ts). */
export const MAX_SUMMARY_BYTES = 2 * 1024 * 1024;
