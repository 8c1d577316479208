// The di layer's public exports; src/index.ts re-exports everything here.
export { CHECKPOINT_STORAGE } from '../manager/checkpoint-storage-token';
export { registerCheckpointing, type CheckpointingConfig } from './register-checkpointing';
export { parseStorageUrl, type StorageSource, type ParsedStorageUrl } from './storage-source';
