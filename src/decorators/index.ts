// The decorators layer's public exports; src/index.ts re-exports everything here.
export { Checkpointable } from './checkpointable';
export { CheckpointField } from './checkpoint-field';
export { metadataRegistry, MetadataRegistry } from './metadata-registry';
export { ClassPlan, type FieldPlan } from './class-plan';

export type {
  Migration,
  CheckpointableOptions,
  CheckpointFieldOptions,
} from './checkpoint-options';
