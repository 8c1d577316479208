import type { CheckpointableOptions } from './checkpoint-options';
import { metadataRegistry } from './metadata-registry';

/**
 * Marks a class whose instances can be saved in checkpoints. Its `@CheckpointField()`
 * properties (and those inherited from parent classes) are saved; other properties are not.
 * Each saved instance records the class `name` and `version` (and the versions of its
 * `@Checkpointable` parent classes), so that restoring older data runs the parents'
 * `migrations` and then the class's own, step by step, and a field typed as a base class
 * restores the subclass that was saved. A stored field the class neither declares nor
 * lists in `droppedFields` is a `Version` error, never silently dropped.
 *
 * @throws {CheckpointError} `Metadata` when `name` is already used by another class, the
 *   version is not a positive integer, a migration is misnumbered, or `droppedFields` is
 *   not a list of field names
 *
 * @example
 * ```ts
 * @Checkpointable({
 *   name: 'Order',
 *   version: 2,
 *   migrations: { 1: (data) => ({ ...data, currency: 'EUR' }) }, // version 1 -> 2
 *   droppedFields: ['legacyNote'], // stored by old code; thrown away on restore
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
