import { UsageError } from './cli-error';

const UNITS: Record<string, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/**
 * A moment given on the command line: an age (`90s`, `15m`, `12h`, `7d`, `2w`), counted
 * back from `now`, or an ISO 8601 date (`2026-11-30`, `2026-11-30T12:00:00Z`).
 * @throws {UsageError} for anything else, naming the option
 *
 * @example
 * ```ts
 * parseMoment('7d', '--older-than'); // a Date one week ago
 * ```
 */
export function parseMoment(text: string, option: string, now = Date.now()): Date {
  const age = /^(\d{1,9})([smhdw])$/.exec(text.trim());
  if (age) return new Date(now - Number(age[1]) * UNITS[age[2]]);
  if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text.trim())) {
    const date = new Date(text.trim());
    if (!Number.isNaN(date.getTime())) return date;
  }
  throw new UsageError(
    `${option} ${JSON.stringify(text.slice(0, 40))} is neither an age (such as 90s, 15m, 12h, 7d, 2w) nor an ISO date (such as 2026-11-30 or 2026-11-30T12:00:00Z).`,
  );
}

/**
 * A whole number of at least `min` given on the command line.
 * @throws {UsageError} for anything else, naming the option
 *
 * @example
 * ```ts
 * parseCount('10', '--keep-last'); // 10
 * ```
 */
export function parseCount(text: string, option: string, min = 0): number {
  const n = /^\d{1,9}$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isSafeInteger(n) || n < min) {
    throw new UsageError(
      `${option} ${JSON.stringify(text.slice(0, 40))} is not a whole number of at least ${min}.`,
    );
  }
  return n;
}
