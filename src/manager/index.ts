// The manager layer's public exports; src/index.ts re-exports everything here.
export { CheckpointManager, type PruneOptions, type PruneResult } from './checkpoint-manager';
export { CheckpointTransaction, type CheckpointInfo } from './checkpoint-transaction';
export { MANIFEST_KEY, type Manifest } from './manifest';
export {
  CheckpointEventEmitter,
  type AutosaveFailedEvent,
  type ConflictEvent,
  type CheckpointEventBase,
  type CheckpointEvents,
  type CheckpointListener,
  type DamagedEvent,
  type PruneEvent,
  type RemoveEvent,
  type RestoreEvent,
  type SaveEvent,
} from './checkpoint-events';
export {
  CheckpointSeries,
  type SeriesOptions,
  type SeriesCheckpointInfo,
  type SeriesSaveInfo,
  type SeriesHistoryOptions,
} from './checkpoint-series';
export {
  formatSeriesIdentifier,
  parseSeriesIdentifier,
  isSeriesIdentifier,
  assertValidSeriesName,
  SERIES_PREFIX,
  MAX_SERIES_NAME_LENGTH,
} from './series-identifier';
