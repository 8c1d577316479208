import { sortNames } from '../storage/names';

/**
 * The sort key of an identifier in PostgreSQL and Redis: its UTF-16 code units, each as
 * two bytes, big-endian. Both media compare such keys byte by byte (`bytea` in PostgreSQL,
 * sorted-set members in Redis), which is exactly JavaScript's string order; text sorted
 * by its UTF-8 bytes (`COLLATE "C"`, Redis's own order) differs from it wherever a
 * character above U+FFFF meets one from U+E000 to U+FFFF.
 *
 * @example
 * ```ts
 * sortKey('a'); // <Buffer 00 61>
 * ```
 */
export function sortKey(name: string): Buffer {
  const bytes = Buffer.allocUnsafe(name.length * 2);
  for (let i = 0; i < name.length; i++) bytes.writeUInt16BE(name.charCodeAt(i), i * 2);
  return bytes;
}

/**
 * The string a sort key stands for; `undefined` when the bytes are not a whole number of
 * code units.
 *
 * @example
 * ```ts
 * nameOfSortKey(sortKey('a')); // 'a'
 * ```
 */
export function nameOfSortKey(key: Uint8Array): string | undefined {
  if (key.length % 2 !== 0) return undefined;
  let name = '';
  for (let i = 0; i < key.length; i += 2) name += String.fromCharCode((key[i] << 8) | key[i + 1]);
  return name;
}

/**
 * The range of sort keys of the names starting with `prefix` and sorting before `before`:
 * from `low` (inclusive) to `high` (exclusive; `undefined` when there is no bound).
 *
 * @example
 * ```ts
 * prefixRange('a:'); // { low: <00 61 00 3a>, high: <00 61 00 3b> }
 * ```
 */
export function prefixRange(prefix: string, before?: string): { low: Buffer; high?: Buffer } {
  const low = sortKey(prefix);
  // The least key above every key that starts with `low`: drop trailing 0xff bytes, add
  // one to the last byte left; none when every byte is 0xff (or the prefix is empty).
  let end = low.length;
  while (end > 0 && low[end - 1] === 0xff) end--;
  let high: Buffer | undefined;
  if (end > 0) {
    high = Buffer.from(low.subarray(0, end));
    high[end - 1]++;
  }
  if (before !== undefined) {
    const limit = sortKey(before);
    if (high === undefined || Buffer.compare(limit, high) < 0) high = limit;
  }
  return { low, high };
}

/**
 * `names` sorted in JavaScript string order, like `sortNames`, without the set-up of a
 * comparator sort for the one or two keys most checkpoints have: summaries of thousands
 * of checkpoints sort thousands of such lists.
 *
 * @example
 * ```ts
 * sortedNames(['b', 'a']); // ['a', 'b']
 * ```
 */
export function sortedNames(names: string[]): string[] {
  if (names.length < 2) return names;
  if (names.length === 2) return names[0] <= names[1] ? names : [names[1], names[0]];
  return sortNames(names);
}
