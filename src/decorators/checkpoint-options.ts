/**
 * One step of a class's migration chain: receives the field values stored at version `N`
 * (already revived: Dates, Maps, nested instances) and returns the field values of
 * version `N + 1`. It may change `data` in place and return it.
 *
 * @example
 * ```ts
 * const addCurrency: Migration = (data) => ({ ...data, currency: 'EUR' });
 * ```
 */
export type Migration = (data: Record<string, unknown>) => Record<string, unknown>;

/**
 * Options of `@Checkpointable()`.
 *
 * @example
 * ```ts
 * const options: CheckpointableOptions = {
 *   name: 'Order',
 *   version: 2,
 *   migrations: { 1: addCurrency },
 *   droppedFields: ['legacyNote'],
 * };
 * ```
 */
export interface CheckpointableOptions {
  /**
   * The name stored with every instance; unique in the process. Defaults to the class
   * name, but give one explicitly: it must survive renames and minifiers.
   */
  name?: string;
  /** The schema version this code writes: a positive integer, 1 by default. */
  version?: number;
  /**
   * `migrations[N]` upgrades the fields stored at version `N` to version `N + 1`.
   * Restoring data of version `V` runs `migrations[V]`, `migrations[V + 1]`, ... in order.
   */
  migrations?: Record<number, Migration>;
  /**
   * How restore creates an instance. `'auto'` (default) runs the constructor when it and
   * every parent constructor take no declared parameters, so field initialisers such as
   * `cache = new Map()` exist; otherwise it creates the object from the prototype without
   * running any constructor. `'never'` always skips the constructor.
   */
  construct?: 'auto' | 'never';
  /**
   * Fields that stored data may still hold but this code no longer declares, and whose
   * stored values are deliberately thrown away on restore. Any other stored field the
   * class does not declare is a `Version` error, so that a field renamed or removed
   * without a migration is never lost without a word. Applies to subclasses too.
   */
  droppedFields?: readonly string[];
}

/**
 * Options of `@CheckpointField()`.
 *
 * @example
 * ```ts
 * class Order { @CheckpointField({ type: () => LineItem }) items!: LineItem[] }
 * ```
 */
export interface CheckpointFieldOptions {
  /**
   * The field's class, as a thunk, when TypeScript cannot say it at run time: an
   * interface, a union, `any`, or a class declared later in the file. For an array, Set
   * or Map it is the element (Map: value) class, as with class-transformer's `@Type`.
   * `type: () => Object` declares plain data of any shape (JSON-like objects, unions of
   * primitives).
   */
  type?: () => unknown;
}
