// The services layer's public exports; src/index.ts re-exports everything here.
export { CheckpointedState, type CheckpointedStateOptions } from './checkpointed-state';
export { requestSave } from './request-save';
export {
  startCheckpointing,
  CheckpointingHandle,
  type StartCheckpointingOptions,
  type ServiceClass,
} from './start-checkpointing';
export type {
  CheckpointingEventMap,
  CheckpointingErrorEvent,
  SaveTrigger,
} from './checkpointing-events';
export type { RetryPolicy } from './service-autosave';
export { STATE_KEY } from './service-state';
