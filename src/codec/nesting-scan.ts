/**
 * A cheap look at stored JSON text before it is parsed: how deep do its arrays and objects
 * nest? JSON.parse builds any depth without complaint (ten million levels cost seconds and
 * hundreds of megabytes), and only then would the decoder's depth limit refuse it. Scanning
 * the bytes first refuses such input as soon as the limit is passed, allocating nothing.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/**
 * Whether the JSON text in `bytes[start, end)` nests arrays and objects more than `limit`
 * levels deep. Strings are skipped with the native `indexOf`, so text that is mostly
 * strings costs little. Damaged text (an unterminated string) answers `false`: JSON.parse
 * then reports the damage.
 *
 * @example
 * ```ts
 * nestsDeeperThan(Buffer.from('[[1]]'), 0, 5, 1); // true
 * ```
 */
export function nestsDeeperThan(bytes: Buffer, start: number, end: number, limit: number): boolean {
  let depth = 0;
  for (let i = start; i < end; i++) {
    const c = bytes[i];
    if (c === QUOTE) {
      i = closingQuote(bytes, i + 1, end);
      if (i < 0) return false;
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > limit) return true;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      depth--;
    }
  }
  return false;
}

/** The index of the quote that ends a string whose text starts at `from`, or -1. */
function closingQuote(bytes: Buffer, from: number, end: number): number {
  let at = from;
  for (;;) {
    const q = bytes.indexOf(QUOTE, at);
    if (q < 0 || q >= end) return -1;
    // A quote preceded by an odd number of backslashes is escaped: part of the string.
    let slashes = 0;
    while (q - 1 - slashes >= from && bytes[q - 1 - slashes] === BACKSLASH) slashes++;
    if (slashes % 2 === 0) return q;
    at = q + 1;
  }
}
