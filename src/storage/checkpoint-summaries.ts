import { CheckpointError } from '../errors';
import type { CommittedCheckpoint, Storage } from './storage';

/** The longest label a checkpoint may carry, in UTF-16 code units. */
export const MAX_LABEL_LENGTH = 65_536;

/**
 * What a listing can say about a committed checkpoint without reading its values.
 *
 * @example
 * ```ts
 * const [summary] = await summarizeCheckpoints(storage, ['order-42']);
 * console.log(summary.createdAt, summary.keys.length, summary.label);
 * ```
 */
export interface CheckpointSummary {
  /** The checkpoint identifier. */
  readonly identifier: string;
  /** When it was committed, as the storage recorded it. */
  readonly createdAt: Date;
  /** Its keys, sorted. */
  readonly keys: readonly string[];
  /**
   * The bytes each key's value takes on the medium (after the wrappers), by key; absent
   * when the storage cannot tell without reading the values.
   */
  readonly sizes?: ReadonlyMap<string, number>;
  /** The label its writer gave it before the commit; absent when there is none. */
  readonly label?: string;
}

/**
 * What {@link SummaryListing.summarizeCheckpoints} found: a summary for each committed
 * checkpoint it could read, and for each one whose stored metadata is damaged, the error
 * reading it raised, so that a listing skips it with a word instead of failing.
 *
 * @example
 * ```ts
 * const { summaries, damaged } = await summarizeCheckpoints(storage, identifiers);
 * for (const { identifier, error } of damaged) console.warn(identifier, error.message);
 * ```
 */
export interface CheckpointSummaries {
  /** The readable checkpoints, in the order asked. */
  summaries: CheckpointSummary[];
  /** The checkpoints that could not be read, with why. */
  damaged: { identifier: string; error: CheckpointError }[];
}

/** Error kinds that say a checkpoint's stored data cannot be read, not that the medium failed. */
export const DAMAGE_KINDS: ReadonlySet<string> = new Set([
  'Deserialize',
  'Integrity',
  'Version',
  'KeyNotFound',
]);

/**
 * An optional storage capability: the summaries of committed checkpoints, read from what
 * the medium keeps beside the values (a pack file's header, an index column, an index
 * hash), so that listing many checkpoints reads no values. A storage without it is
 * summarized by loading each checkpoint ({@link summarizeCheckpoints}).
 *
 * Labels and sizes are not authenticated by the HMAC or encryption wrappers: they serve
 * listing, and every value read still is.
 *
 * @example
 * ```ts
 * if (hasSummaryListing(storage)) console.log(await storage.summarizeCheckpoints(['a', 'b']));
 * ```
 */
export interface SummaryListing {
  /**
   * The summaries of the committed checkpoints among `identifiers`, in the same order;
   * identifiers that are not committed (any more) are left out, and those whose metadata
   * cannot be read are reported as `damaged`. A failing medium still throws (`Io`).
   */
  summarizeCheckpoints(identifiers: readonly string[]): Promise<CheckpointSummaries>;
}

/**
 * True when `storage` implements {@link SummaryListing}, detected at run time.
 * @example
 * ```ts
 * hasSummaryListing(new MemoryStorage()); // true
 * ```
 */
export function hasSummaryListing(storage: Storage): storage is Storage & SummaryListing {
  return typeof (storage as Partial<SummaryListing>).summarizeCheckpoints === 'function';
}

/**
 * The summaries of `identifiers` through the storage's own {@link SummaryListing}, or by
 * loading each checkpoint when it has none. Checkpoints removed meanwhile are left out.
 *
 * @example
 * ```ts
 * const summaries = await summarizeCheckpoints(storage, await storage.checkpointIdentifiers());
 * ```
 */
export async function summarizeCheckpoints(
  storage: Storage,
  identifiers: readonly string[],
): Promise<CheckpointSummaries> {
  if (hasSummaryListing(storage)) return storage.summarizeCheckpoints(identifiers);
  const out: CheckpointSummaries = { summaries: [], damaged: [] };
  for (const identifier of identifiers) {
    let saved: CommittedCheckpoint;
    try {
      saved = await storage.loadCheckpoint(identifier);
    } catch (error) {
      if (CheckpointError.is(error, 'NotFound')) continue; // removed meanwhile
      if (error instanceof CheckpointError && DAMAGE_KINDS.has(error.kind)) {
        out.damaged.push({ identifier, error });
        continue;
      }
      throw error;
    }
    try {
      const summary: { -readonly [K in keyof CheckpointSummary]: CheckpointSummary[K] } = {
        identifier,
        createdAt: saved.createdAt,
        keys: await saved.keys(),
      };
      if (saved.label !== undefined) summary.label = saved.label;
      out.summaries.push(summary);
    } finally {
      await saved.release();
    }
  }
  return out;
}

/**
 * Checks a label before it is stored.
 * @throws {CheckpointError} `Serialize` when it is not a string or longer than {@link MAX_LABEL_LENGTH}
 * @example
 * ```ts
 * assertLabel('order-42', JSON.stringify({ classes: [] }));
 * ```
 */
export function assertLabel(identifier: string, label: unknown): asserts label is string {
  if (typeof label === 'string' && label.length <= MAX_LABEL_LENGTH) return;
  throw new CheckpointError(
    'Serialize',
    typeof label === 'string'
      ? `The label of checkpoint ${JSON.stringify(identifier)} is ${label.length} characters long; a label holds at most ${MAX_LABEL_LENGTH}, for listing. Keep large data in values.`
      : `The label of checkpoint ${JSON.stringify(identifier)} must be a string, not ${label === null ? 'null' : typeof label}.`,
    { identifier },
  );
}
