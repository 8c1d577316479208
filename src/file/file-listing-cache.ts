import { promises as fs, type BigIntStats } from 'node:fs';

/**
 * FileStorage's listing of `committed/`, kept in memory and reused while the folder is
 * unchanged, so that a series finding its latest checkpoint among 10,000 costs one `stat`
 * and a binary search instead of reading 10,000 names.
 *
 * Why one `stat` of the folder is enough: every way a name appears in or leaves
 * `committed/` (the commit's `link`, a rename, `unlink`, also by other processes or by
 * hand) changes the folder's modification and change times, and replacing the folder
 * changes its inode number. Checkpoint files are never rewritten in place, so an unchanged
 * folder holds the same files under the same names, and the identifiers read from their
 * names, or from the headers of hashed names (whose identity the hash fixes), still hold.
 * Damage to a file's bytes in place does not change the folder; it is found when the
 * checkpoint is loaded or summarized, which read the file anew.
 *
 * Coarse timestamps: a file system stamps changes with a clock that advances in ticks
 * (a few milliseconds on Linux, whole seconds on some file systems), so a change made in
 * the same tick as the stamp a listing was taken under leaves the stamp as it was. A listing
 * is therefore trusted only when the folder's last change is clearly older than the moment
 * the listing started ({@link RACY_MARGIN_MS}, or {@link RACY_MARGIN_COARSE_MS} when the
 * stamps have no sub-second part); otherwise the next call reads the folder again. This
 * relies on the folder being on a local disk, stamped by this machine's clock.
 *
 * @example
 * ```ts
 * const cache = new FolderListingCache('/var/cp/committed');
 * const names = await cache.get(() => fs.readdir('/var/cp/committed'));
 * ```
 */
export class FolderListingCache<T> {
  private cached: { stamp: string; value: T } | undefined;

  /** @param folder the folder whose listing is cached */
  constructor(private readonly folder: string) {}

  /**
   * The cached listing when the folder has not changed since it was read, otherwise the
   * result of `read()`, which is kept for the next call when it is safe to.
   * @throws what `stat` or `read` throws
   */
  async get(read: () => Promise<T>): Promise<T> {
    const before = await fs.stat(this.folder, { bigint: true });
    const stamp = stampOf(before);
    if (this.cached !== undefined && this.cached.stamp === stamp) return this.cached.value;
    const startedAt = Date.now();
    const value = await read();
    if (isSettled(before, startedAt)) this.cached = { stamp, value };
    else this.cached = undefined;
    return value;
  }

  /** Forgets the cached listing. */
  clear(): void {
    this.cached = undefined;
  }
}

/**
 * How much older than the start of a listing the folder's last change must be for the
 * listing to be trusted: more than the tick of the kernel's file-time clock (at most 10 ms
 * at 100 Hz) with room to spare.
 *
 * @example
 * ```ts
 * await new Promise((r) => setTimeout(r, RACY_MARGIN_MS + 50)); // the next listing is kept
 * ```
 */
export const RACY_MARGIN_MS = 100;
/** The same for file systems whose stamps are whole seconds (FAT keeps two). */
const RACY_MARGIN_COARSE_MS = 2_500;

function stampOf(stat: BigIntStats): string {
  return `${stat.dev}:${stat.ino}:${stat.mtimeNs}:${stat.ctimeNs}:${stat.size}`;
}

function isSettled(stat: BigIntStats, startedAt: number): boolean {
  const coarse = stat.mtimeNs % 1_000_000_000n === 0n && stat.ctimeNs % 1_000_000_000n === 0n;
  const margin = coarse ? RACY_MARGIN_COARSE_MS : RACY_MARGIN_MS;
  const changedAt = Number(
    (stat.mtimeNs > stat.ctimeNs ? stat.mtimeNs : stat.ctimeNs) / 1_000_000n,
  );
  return changedAt < startedAt - margin;
}

/**
 * The index range `[from, to)` of the names in `sorted` (ascending, JavaScript string order)
 * that start with `prefix` and, when `before` is given, sort before it.
 *
 * @example
 * ```ts
 * prefixRange(['a:1', 'a:2', 'b:1'], 'a:'); // [0, 2]
 * ```
 */
export function prefixRange(
  sorted: readonly string[],
  prefix: string,
  before?: string,
): [number, number] {
  const from = firstIndex(sorted, 0, (name) => name >= prefix);
  // Names with the prefix sort together, right from `from`.
  let to = firstIndex(sorted, from, (name) => !name.startsWith(prefix));
  if (before !== undefined)
    to = Math.min(
      to,
      firstIndex(sorted, from, (name) => name >= before),
    );
  return [from, Math.max(from, to)];
}

/** The first index at or after `from` where `test` holds, for a `test` false then true. */
function firstIndex(sorted: readonly string[], from: number, test: (name: string) => boolean) {
  let lo = from;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (test(sorted[mid])) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
