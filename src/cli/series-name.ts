/**
 * Series checkpoints are named `@series:<name>:<12-digit sequence>`; `ls --series` and
 * `prune --series` select them by that shape.
 */

const SERIES_ID = /^@series:(.+):(\d{12})$/s;

/**
 * The series name and sequence number of a series checkpoint identifier, or undefined.
 *
 * @example
 * ```ts
 * parseSeriesIdentifier('@series:orders:000000000042'); // { series: 'orders', sequence: 42 }
 * ```
 */
export function parseSeriesIdentifier(
  identifier: string,
): { series: string; sequence: number } | undefined {
  const match = SERIES_ID.exec(identifier);
  return match ? { series: match[1], sequence: Number(match[2]) } : undefined;
}

/**
 * Whether `identifier` belongs to the series `series`.
 *
 * @example
 * ```ts
 * inSeries('@series:orders:000000000042', 'orders'); // true
 * ```
 */
export function inSeries(identifier: string, series: string): boolean {
  return parseSeriesIdentifier(identifier)?.series === series;
}
