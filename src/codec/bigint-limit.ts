/**
 * The largest bigint the codec stores: converting between a bigint and its decimal text
 * costs time that grows faster than the number of digits (a million digits take about a
 * quarter of a second, thirty million block the event loop for many seconds), so stored
 * text of any length must not reach `BigInt()` unchecked. The same limit applies when
 * saving, so that nothing is written that could not be read back.
 */
export const MAX_BIGINT_DIGITS = 1_000_000;

/** log10(2): decimal digits per bit. */
const DIGITS_PER_BIT = Math.log10(2);

/**
 * The decimal text of `value` (the codec's stored form), or `undefined` when it has more
 * than {@link MAX_BIGINT_DIGITS} digits. Sizes the value by its hexadecimal text first,
 * which is cheap for any size, so a huge value is refused without the slow conversion.
 *
 * @example
 * ```ts
 * bigintText(123n); // '123'
 * bigintText(10n ** 2_000_000n); // undefined
 * ```
 */
export function bigintText(value: bigint): string | undefined {
  const magnitude = value < 0n ? -value : value;
  const hexDigits = magnitude.toString(16).length;
  // At least 4 * (hexDigits - 1) + 1 bits, so at least this many decimal digits.
  if (Math.floor(4 * (hexDigits - 1) * DIGITS_PER_BIT) + 1 > MAX_BIGINT_DIGITS) return undefined;
  const text = value.toString();
  return text.length - (value < 0n ? 1 : 0) > MAX_BIGINT_DIGITS ? undefined : text;
}

/**
 * The problem with a bigint over the limit, for an error message: `stored` when it was
 * read from stored bytes, else a value being saved.
 *
 * @example
 * ```ts
 * tooManyDigits(true); // 'a stored bigint has more than 1000000 digits, ...'
 * ```
 */
export function tooManyDigits(stored: boolean): string {
  return stored
    ? `a stored bigint has more than ${MAX_BIGINT_DIGITS} digits, more than the codec ever writes; the data is damaged or was not written by checkpointable`
    : `it is a bigint of more than ${MAX_BIGINT_DIGITS} digits, the largest the codec stores; store it as a Buffer (its bytes) instead`;
}
