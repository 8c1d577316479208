import type { InjectionToken } from 'tsyringe';
import type { Storage } from '../storage/storage';

/**
 * The tsyringe injection token of the configured storage, wrapper chain included.
 * `registerCheckpointing` registers it; `CheckpointManager` is injected with it.
 *
 * @example
 * ```ts
 * @injectable()
 * class Audit {
 *   constructor(@inject(CHECKPOINT_STORAGE) private readonly storage: Storage) {}
 * }
 * ```
 */
export const CHECKPOINT_STORAGE: InjectionToken<Storage> = Symbol.for(
  'checkpointable.CHECKPOINT_STORAGE',
);
