/**
 * The injection token of the configured storage, wrapper chain included: a plain symbol,
 * so that tsyringe (`@inject(CHECKPOINT_STORAGE)`) and NestJS (`@Inject(CHECKPOINT_STORAGE)`)
 * both take it as it is. `registerCheckpointing` and `CheckpointModule` register it;
 * `CheckpointManager` is injected with it. A symbol carries no type, so
 * `container.resolve<Storage>(CHECKPOINT_STORAGE)` names the type it returns.
 *
 * @example
 * ```ts
 * @injectable()
 * class Audit {
 *   constructor(@inject(CHECKPOINT_STORAGE) private readonly storage: Storage) {}
 * }
 * const storage = container.resolve<Storage>(CHECKPOINT_STORAGE);
 * ```
 */
export const CHECKPOINT_STORAGE: unique symbol = Symbol.for('checkpointable.CHECKPOINT_STORAGE');
