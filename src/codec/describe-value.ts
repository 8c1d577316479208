/**
 * How error messages name what a stored value holds: `null`, `a string`, `an array`,
 * `a plain object`, `a Customer`.
 *
 * @example
 * ```ts
 * describeValue(new Map()); // 'a Map'
 * ```
 */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return `a ${typeof value}`;
  if (Array.isArray(value)) return 'an array';
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) return 'a plain object';
  return `a ${(value as object).constructor?.name || 'object'}`;
}
