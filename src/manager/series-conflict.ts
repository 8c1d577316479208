import { CheckpointError, quote } from '../errors';

/**
 * The `Conflict` of a stale writer: the series moved on since this handle last looked.
 *
 * @param series the series name
 * @param seen the newest sequence the handle had seen; `undefined` when it had seen nothing
 * @param latest the sequence now latest in the series
 * @param identifier the identifier the save tried, or the latest one
 * @internal
 */
export function seriesConflict(
  series: string,
  seen: number | undefined,
  latest: number,
  identifier: string,
): CheckpointError {
  const from =
    seen === undefined
      ? 'this handle has seen no checkpoint of it (no latest(), restoreLatest() or save() yet)'
      : seen === 0
        ? 'this handle saw it empty'
        : `this handle started from sequence ${seen}`;
  return new CheckpointError(
    'Conflict',
    `Series ${quote(series)} changed under this writer: ${from}, but sequence ${latest} is now the latest, saved by another process or replica. Nothing was saved, so the newer checkpoint is kept. Restore the latest (series.restoreLatest(...)) and re-apply the change, then save again; a single-writer app that may overwrite can open the series with { onConflict: 'overwrite-latest' }.`,
    { identifier },
  );
}
