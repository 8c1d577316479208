// Telemetry hooks with no dependency: src/index.ts re-exports everything here.
export type {
  CheckpointInstrumentation,
  CheckpointOperation,
  OperationAttributes,
  OperationScope,
} from './checkpoint-instrumentation';
export { InstrumentedStorage } from './instrumented-storage';
export { storageAttributes } from './storage-kind';
