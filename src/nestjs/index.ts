// The checkpointable/nestjs entry. The peer check comes first, before any @nestjs import.
import './nest-peer-check';
import 'reflect-metadata';

export { CheckpointModule } from './checkpoint-module';
export type {
  CheckpointModuleOptions,
  CheckpointModuleAsyncOptions,
  CheckpointOptionsFactory,
  CheckpointStorageOptions,
  CheckpointStateOptions,
} from './checkpoint-module-options';
export { InjectCheckpointManager, InjectCheckpointStorage } from './inject-checkpoint-manager';
export {
  DEFAULT_CHECKPOINT_NAME,
  getCheckpointManagerToken,
  getCheckpointStorageToken,
} from './checkpoint-tokens';
export {
  CheckpointHealthIndicator,
  type CheckpointHealth,
  type CheckpointHealthOptions,
} from './checkpoint-health-indicator';
