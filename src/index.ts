import 'reflect-metadata';

export {
  CheckpointError,
  CHECKPOINT_ERROR_KINDS,
  type CheckpointErrorKind,
  type CheckpointErrorDetails,
} from './errors';
export type {
  Storage,
  CreateCheckpointOptions,
  UncommittedCheckpoint,
  CommittedCheckpoint,
  ClassType,
} from './storage/storage';
export { assertValidName, MAX_NAME_LENGTH } from './storage/names';
export { BaseStorage } from './storage/base-storage';
export { BaseUncommittedCheckpoint, BaseCommittedCheckpoint } from './storage/base-checkpoints';
export { BufferedUncommittedCheckpoint } from './storage/buffered-uncommitted-checkpoint';
export { MemoryStorage } from './memory/memory-storage';
export {
  hasPrefixListing,
  listIdentifiersWithPrefix,
  type PrefixListing,
  type PrefixListingOptions,
} from './storage/prefix-listing';
export { FileStorage, type FileStorageOptions, type FileDurability } from './file/file-storage';
export * from './wrappers';
export * from './decorators';
export * from './manager';
export * from './di';
export * from './telemetry';
export * from './services';
export { encodeValue, decodeValue } from './decorators/registry-codec';
export type { CodecContext, DecodeOptions, ClassLookup, CodecClass } from './codec';
