import { CheckpointError } from '../errors';

/**
 * Checks a numeric option of a database storage: absent, it is `fallback`; otherwise a
 * whole number of at least `min`.
 *
 * @param storage the storage class the message names, such as `'RedisStorage'`
 * @param unit what the number counts, as the message says it (`'milliseconds'`)
 * @throws {CheckpointError} `Initialization` naming the option, its unit and its bound
 *
 * @example
 * ```ts
 * const connectTimeoutMs = wholeNumberOption(
 *   'RedisStorage', 'connectTimeoutMs', options.connectTimeoutMs, 5000, 1, 'milliseconds',
 * );
 * ```
 */
export function wholeNumberOption(
  storage: string,
  name: string,
  value: number | undefined,
  fallback: number,
  min: number,
  unit: string,
): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min) {
    throw new CheckpointError(
      'Initialization',
      `${storage} option ${name} must be a whole number of ${unit} (${min} or more), not ${String(value)}.`,
    );
  }
  return value;
}
