import { CheckpointError } from '../errors';
import { sortNames } from './names';
import type { Storage } from './storage';

/**
 * Options of {@link PrefixListing.checkpointIdentifiersWithPrefix}.
 *
 * @example
 * ```ts
 * const newest: PrefixListingOptions = { descending: true, limit: 1 };
 * ```
 */
export interface PrefixListingOptions {
  /** Only identifiers sorting strictly before this one (JavaScript string order). */
  before?: string;
  /** At most this many identifiers (a non-negative integer); all when left out. */
  limit?: number;
  /** Newest (greatest) first instead of ascending. */
  descending?: boolean;
}

/**
 * An optional storage capability: listing the committed identifiers that start with a
 * prefix, in order, without listing the others. Checkpoint series use it to find their
 * latest checkpoint in time independent of the other checkpoints of the storage; a
 * storage without it is listed in full ({@link listIdentifiersWithPrefix}).
 *
 * @example
 * ```ts
 * if (hasPrefixListing(storage)) {
 *   const [newest] = await storage.checkpointIdentifiersWithPrefix('@series:orders:', {
 *     descending: true,
 *     limit: 1,
 *   });
 * }
 * ```
 */
export interface PrefixListing {
  /**
   * The committed identifiers starting with `prefix`, ascending (or descending), after
   * `before` and `limit` are applied, in JavaScript string order.
   * @throws {CheckpointError} `Released` once the storage is closed; `Other` for a bad option
   */
  checkpointIdentifiersWithPrefix(
    prefix: string,
    options?: PrefixListingOptions,
  ): Promise<string[]>;
}

/**
 * True when `storage` implements {@link PrefixListing}, detected at run time.
 *
 * @example
 * ```ts
 * hasPrefixListing(new MemoryStorage()); // true
 * ```
 */
export function hasPrefixListing(storage: Storage): storage is Storage & PrefixListing {
  return typeof (storage as Partial<PrefixListing>).checkpointIdentifiersWithPrefix === 'function';
}

/**
 * Lists the identifiers starting with `prefix` through the storage's own
 * {@link PrefixListing} when it has one, otherwise from `checkpointIdentifiers()`.
 * Either way the answer is checked: only identifiers with the prefix, in order, within
 * `before` and `limit`; anything else from the storage is a `CheckpointError`.
 *
 * @throws {CheckpointError} `Other` for a bad option; `Integrity` when a storage's own
 *   listing answers out of order or outside the prefix
 *
 * @example
 * ```ts
 * const ids = await listIdentifiersWithPrefix(storage, '@series:orders:', { limit: 20 });
 * ```
 */
export async function listIdentifiersWithPrefix(
  storage: Storage,
  prefix: string,
  options: PrefixListingOptions = {},
): Promise<string[]> {
  assertListingOptions(options);
  if (hasPrefixListing(storage)) {
    const listed = await storage.checkpointIdentifiersWithPrefix(prefix, options);
    assertListing(listed, prefix, options);
    return listed;
  }
  const all: unknown = await storage.checkpointIdentifiers();
  if (!Array.isArray(all) || all.some((id) => typeof id !== 'string')) {
    throw new CheckpointError(
      'Integrity',
      "The storage's checkpointIdentifiers() did not answer an array of identifiers; the storage is broken or not a checkpoint storage.",
    );
  }
  return selectWithPrefix(all as string[], prefix, options);
}

/**
 * Picks from `identifiers` (any order) those a prefix listing answers: what a storage
 * implementing {@link PrefixListing} over an in-memory list returns.
 *
 * @example
 * ```ts
 * selectWithPrefix(['a:1', 'a:2', 'b:1'], 'a:', { descending: true }); // ['a:2', 'a:1']
 * ```
 */
export function selectWithPrefix(
  identifiers: Iterable<string>,
  prefix: string,
  options: PrefixListingOptions = {},
): string[] {
  assertListingOptions(options);
  const { before, limit, descending = false } = options;
  const out: string[] = [];
  for (const id of identifiers) {
    if (id.startsWith(prefix) && (before === undefined || id < before)) out.push(id);
  }
  sortNames(out);
  if (descending) out.reverse();
  return limit === undefined ? out : out.slice(0, limit);
}

/**
 * `options` once checked (a storage's own listing takes them as given by a caller).
 * @throws {CheckpointError} `Other` for a bad option
 * @example
 * ```ts
 * sorted.withPrefix(prefix, checkedListingOptions(options));
 * ```
 */
export function checkedListingOptions(options: PrefixListingOptions = {}): PrefixListingOptions {
  assertListingOptions(options);
  return options;
}

function assertListingOptions(options: PrefixListingOptions): void {
  const { before, limit } = options ?? {};
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) {
    throw new CheckpointError(
      'Other',
      `Listing identifiers with limit ${String(limit)}: limit is a number of identifiers, an integer 0 or more.`,
    );
  }
  if (before !== undefined && typeof before !== 'string') {
    throw new CheckpointError(
      'Other',
      `Listing identifiers before ${String(before)}: before is an identifier (a string).`,
    );
  }
}

/** A storage's own prefix listing is read like any other answer from storage: checked. */
function assertListing(listed: unknown, prefix: string, options: PrefixListingOptions): void {
  const { before, limit, descending = false } = options;
  const bad = (why: string) =>
    new CheckpointError(
      'Integrity',
      `The storage listed identifiers with prefix ${JSON.stringify(prefix)} wrongly: ${why}. The storage's checkpointIdentifiersWithPrefix() is broken; list with checkpointIdentifiers() instead or fix it.`,
    );
  if (!Array.isArray(listed)) throw bad('it did not answer an array');
  if (limit !== undefined && listed.length > limit) {
    throw bad(`it gave ${listed.length} for a limit of ${limit}`);
  }
  for (let i = 0; i < listed.length; i++) {
    const id: unknown = listed[i];
    if (typeof id !== 'string' || !id.startsWith(prefix)) {
      throw bad(`entry ${i} does not start with the prefix`);
    }
    if (before !== undefined && id >= before) throw bad(`entry ${i} is not before ${before}`);
    if (i > 0) {
      const prev = listed[i - 1] as string;
      if (descending ? prev <= id : prev >= id) throw bad(`entry ${i} is out of order`);
    }
  }
}
