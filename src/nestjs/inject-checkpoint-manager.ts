import { Inject } from '@nestjs/common';
import { getCheckpointManagerToken, getCheckpointStorageToken } from './checkpoint-tokens';

/**
 * Injects the `CheckpointManager` of the storage `CheckpointModule.forRoot({ name })`
 * registered; without a name, the default one (which is also injectable by type).
 * @throws {CheckpointError} `Initialization` for an unusable name
 *
 * @example
 * ```ts
 * @Injectable()
 * class AuditLog {
 *   constructor(@InjectCheckpointManager('audit') private readonly audit: CheckpointManager) {}
 * }
 * ```
 */
export function InjectCheckpointManager(name?: string): PropertyDecorator & ParameterDecorator {
  return Inject(getCheckpointManagerToken(name));
}

/**
 * Injects the storage (wrapper chain included) of `CheckpointModule.forRoot({ name })`;
 * without a name, the default one, also reachable as `@Inject(CHECKPOINT_STORAGE)`.
 * @throws {CheckpointError} `Initialization` for an unusable name
 *
 * @example
 * ```ts
 * @Injectable()
 * class AuditExport {
 *   constructor(@InjectCheckpointStorage('audit') private readonly storage: Storage) {}
 * }
 * ```
 */
export function InjectCheckpointStorage(name?: string): PropertyDecorator & ParameterDecorator {
  return Inject(getCheckpointStorageToken(name));
}
