import { parseSeriesIdentifier } from '../manager/series-identifier';

/**
 * Whether `identifier` belongs to the series `series`: `ls --series` and `prune --series`
 * select checkpoints by the series identifier format (`@series:<name>:<12 digits>`).
 *
 * @example
 * ```ts
 * inSeries('@series:orders:000000000042', 'orders'); // true
 * ```
 */
export function inSeries(identifier: string, series: string): boolean {
  return parseSeriesIdentifier(identifier)?.series === series;
}
