import 'reflect-metadata';

export {
  storageConformance,
  INVALID_NAMES,
  AWKWARD_VALID_NAMES,
  type ConformanceGroups,
  type ConformanceOptions,
  type StorageCapabilities,
} from './storage-conformance';
export { FIDELITY_CASES, type FidelityCase } from './fidelity-cases';
export {
  wrapperSuite,
  checkpointSealSuite,
  sealKeysOf,
  EnvelopeTap,
  type WrapperSuiteOptions,
  type CheckpointSealSuiteOptions,
} from './wrapper-suite';
