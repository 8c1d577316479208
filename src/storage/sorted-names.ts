import type { PrefixListingOptions } from './prefix-listing';

/**
 * A set of names kept in the one order every listing uses (JavaScript string order, as
 * `sortNames`), answering prefix listings by binary search: a series' latest checkpoint
 * costs O(log n) whatever else the storage holds. Insert and delete cost O(n) copying of
 * references, far below the cost of the commit or removal they follow.
 *
 * @example
 * ```ts
 * const names = new SortedNames(['b', 'a']);
 * names.add('c');
 * names.withPrefix('', { descending: true, limit: 1 }); // ['c']
 * ```
 */
export class SortedNames {
  readonly #names: string[];

  /** @param names the initial names, in any order, without repeats */
  constructor(names: Iterable<string> = []) {
    this.#names = [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** How many names there are. */
  get size(): number {
    return this.#names.length;
  }

  /** Adds `name` (no effect when present). */
  add(name: string): void {
    const at = this.#lowerBound(name, 0);
    if (this.#names[at] !== name) this.#names.splice(at, 0, name);
  }

  /** Removes `name` (no effect when absent). */
  delete(name: string): void {
    const at = this.#lowerBound(name, 0);
    if (this.#names[at] === name) this.#names.splice(at, 1);
  }

  /** Every name, in order (a copy). */
  all(): string[] {
    return [...this.#names];
  }

  /**
   * The names starting with `prefix`, within `before` and `limit`, ascending or descending.
   * Options are taken as checked (see `listIdentifiersWithPrefix`).
   */
  withPrefix(prefix: string, options: PrefixListingOptions = {}): string[] {
    const names = this.#names;
    const start = this.#lowerBound(prefix, 0);
    // Names with the prefix are contiguous from `start`: find where they end.
    let lo = start;
    let hi = names.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (names[mid].startsWith(prefix)) lo = mid + 1;
      else hi = mid;
    }
    let end = lo;
    if (options.before !== undefined) end = Math.min(end, this.#lowerBound(options.before, start));
    const limit = options.limit ?? Infinity;
    if (options.descending) {
      const from = Math.max(start, end - limit);
      return names.slice(from, end).reverse();
    }
    return names.slice(start, Math.min(end, start + limit));
  }

  /** The first index at or after `from` whose name is not below `name`. */
  #lowerBound(name: string, from: number): number {
    const names = this.#names;
    let lo = from;
    let hi = names.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (names[mid] < name) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
