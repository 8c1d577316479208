import type { Storage } from '../storage/storage';
import { summarize, type CheckpointSummary } from './checkpoint-origin';
import { inSeries } from './series-name';

/**
 * The identifiers a storage lists, only those of `series` when it is given.
 *
 * @example
 * ```ts
 * const ids = await listedIdentifiers(store.storage, local.series);
 * ```
 */
export async function listedIdentifiers(
  storage: Storage,
  series: string | undefined,
): Promise<string[]> {
  const ids = await storage.checkpointIdentifiers();
  return series === undefined ? ids : ids.filter((id) => inSeries(id, series));
}

/**
 * The summary of the listed checkpoint `id`, or undefined when it was removed after it was
 * listed. Other errors (of the load or of the summary) are thrown.
 *
 * @example
 * ```ts
 * const summary = await summaryOf(store.storage, id);
 * ```
 */
export async function summaryOf(
  storage: Storage,
  id: string,
): Promise<CheckpointSummary | undefined> {
  const saved = await storage.loadCheckpoint(id).catch(ignoreNotFound);
  if (saved === undefined) return undefined;
  try {
    return await summarize(saved);
  } finally {
    await saved.release();
  }
}

/**
 * For `.catch()`: undefined for a `NotFound` error (the checkpoint was removed after it
 * was listed), the error thrown again otherwise.
 *
 * @example
 * ```ts
 * const raw = await store.bare.loadCheckpoint(id).catch(ignoreNotFound);
 * ```
 */
export function ignoreNotFound(error: unknown): undefined {
  if ((error as { kind?: string })?.kind === 'NotFound') return undefined;
  throw error;
}
