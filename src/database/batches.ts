/** How large one batch of values may grow. */
export interface BatchLimits {
  /** The most entries in one batch. */
  readonly entries: number;
  /** The most value bytes in one batch; a single larger value is a batch of its own. */
  readonly bytes: number;
  /** Values of at least this many bytes are left out (they travel another way). */
  readonly skipFrom?: number;
}

/**
 * Splits a checkpoint's values, in their order, into batches of at most `limits.entries`
 * entries and `limits.bytes` value bytes, so that a commit takes few round trips and no
 * single statement or command grows with the checkpoint.
 *
 * @example
 * ```ts
 * const values = new Map([['a', new Uint8Array(3)], ['b', new Uint8Array(5)]]);
 * for (const batch of batches(values, { entries: 500, bytes: 16 * 1024 * 1024 })) {
 *   console.log(batch.length); // 2
 * }
 * ```
 */
export function* batches(
  values: Map<string, Uint8Array>,
  limits: BatchLimits,
): Generator<[string, Uint8Array][]> {
  let batch: [string, Uint8Array][] = [];
  let bytes = 0;
  for (const entry of values) {
    if (limits.skipFrom !== undefined && entry[1].length >= limits.skipFrom) continue;
    if (
      batch.length > 0 &&
      (batch.length >= limits.entries || bytes + entry[1].length > limits.bytes)
    ) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(entry);
    bytes += entry[1].length;
  }
  if (batch.length > 0) yield batch;
}
