import type { Redis } from 'ioredis';
import { wholeNumberOption } from '../database/whole-number-option';

/**
 * Options of {@link RedisStorage.open}.
 *
 * @example
 * ```ts
 * const options: RedisStorageOptions = {
 *   url: process.env.REDIS_URL,
 *   prefix: '{orders}:checkpoints:',
 *   connectTimeoutMs: 2000,
 * };
 * ```
 */
export interface RedisStorageOptions {
  /**
   * `redis://[:password@]host:6379[/db]` (or `rediss://` for TLS). Required unless `client`
   * is given; the storage then makes its own connection and closes it on `close()`.
   */
  url?: string;
  /**
   * An ioredis client the application already has. The storage borrows it and never
   * closes it. Its own retry settings apply: with ioredis's defaults a command in flight
   * when the connection drops is resent after reconnecting, which commit tolerates (see
   * {@link RedisStorage}) but which delays the `Io` error the storage's own client raises.
   */
  client?: Redis;
  /**
   * Prepended to every key; `'checkpointable:'` by default. On Redis Cluster use a hash
   * tag, such as `'{checkpoints}:'`, so that a checkpoint's keys share one slot.
   */
  prefix?: string;
  /** How long to wait for the connection at open; 5000 ms by default. */
  connectTimeoutMs?: number;
  /** How long one command may take before it fails with `Io`; 0, the default, waits. */
  commandTimeoutMs?: number;
  /**
   * How long values sent by an unfinished commit survive (a commit that dies half way
   * leaves them to expire); 3,600,000 ms (one hour) by default.
   */
  stagingTtlMs?: number;
  /**
   * The storage's own connection is named so (CLIENT SETNAME), so `CLIENT LIST` tells it
   * apart; `'checkpointable'` by default.
   */
  connectionName?: string;
}

/**
 * Checks a numeric option of {@link RedisStorageOptions}, a duration in milliseconds.
 *
 * @throws {CheckpointError} `Initialization` when it is not a whole number of at least `min`
 *
 * @example
 * ```ts
 * const connectTimeoutMs = whole(options.connectTimeoutMs, 5000, 'connectTimeoutMs', 1);
 * ```
 */
export function whole(
  value: number | undefined,
  fallback: number,
  name: string,
  min: number,
): number {
  return wholeNumberOption('RedisStorage', name, value, fallback, min, 'milliseconds');
}
