import { metadataRegistry, type CheckpointableOptions } from './metadata-registry';

/**
 * Marks a class whose instances can be saved in checkpoints. Its `@CheckpointField()`
 * properties (and those inherited from parent classes) are saved; other properties are not.
 * Each saved instance records the class `name` and `version`, so that restoring older data
 * runs the `migrations` step by step, and a field typed as a base class restores the
 * subclass that was saved.
 *
 * @throws {CheckpointError} `Metadata` when `name` is already used by another class, the
 *   version is not a positive integer, or a migration is misnumbered
 *
 * @example
 * ```ts
 * @Checkpointable({
 *   name: 'Order',
 *   version: 2,
 *   migrations: { 1: (data) => ({ ...data, currency: 'EUR' }) }, // version 1 -> 2
 * })
 * class Order {
 *   @CheckpointField() id!: string;
 *   @CheckpointField() currency!: string;
 * }
 * ```
 */
export function Checkpointable(options: CheckpointableOptions = {}): ClassDecorator {
  return (target) => {
    metadataRegistry.declareClass(target, options);
  };
}
