// The decorators layer's public exports; src/index.ts re-exports everything here.
export { Checkpointable } from './checkpointable';
export { CheckpointField } from './checkpoint-field';
export {
  metadataRegistry,
  MetadataRegistry,
  ClassPlan,
  type FieldPlan,
  type Migration,
  type CheckpointableOptions,
  type CheckpointFieldOptions,
} from './metadata-registry';
