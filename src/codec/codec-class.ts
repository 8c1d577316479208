/**
 * The codec's view of user classes. The codec itself knows no decorators: whoever encodes
 * or decodes hands it a {@link ClassLookup} (`CodecContext.classes`); the metadata registry
 * (src/decorators) is the one storages and the manager hand it, so that `put(key, order)`
 * can encode an `@Checkpointable` instance and `get` can rebuild it, while the codec stays
 * usable (and testable) on its own.
 */

/**
 * A class as the codec sees it: what it needs to save and restore the instances of one
 * registered class. The registry's `ClassPlan` is one; the command line's stand-ins for
 * stored classes are another.
 *
 * @example
 * ```ts
 * const standIn: CodecClass = {
 *   name: 'Parcel', version: 1, ctor: StoredParcel, fieldNames: ['weight'],
 *   instantiate: () => new StoredParcel(),
 *   upgrade: (data) => data,
 * };
 * ```
 */
export interface CodecClass {
  /** The unique name stored with each instance (`@Checkpointable({ name })`). */
  readonly name: string;
  /** The schema version the current code writes. */
  readonly version: number;
  /** The class itself. */
  readonly ctor: Function;
  /** The fields saved for each instance, in a fixed order. */
  readonly fieldNames: readonly string[];
  /**
   * The registered parent classes, root first, with the versions the current code writes.
   * Absent or empty when the class has none.
   */
  readonly bases?: readonly { readonly name: string; readonly version: number }[];
  /**
   * What the encoder stores as the instance's version: `version` itself, or, for a class
   * with registered parents, `[version, parentName, parentVersion, ...]` (format.ts), so
   * that a parent's migrations still run for its subclasses' stored instances.
   */
  readonly storedVersion?: number | readonly (string | number)[];
  /** Creates an empty instance to fill, without running a constructor that needs arguments. */
  instantiate(): object;
  /**
   * Brings the field values of an instance stored at `fromVersion` (and its parent classes
   * at `fromBaseVersions`; a parent not named there is taken to be at its current
   * version) up to the current versions, and checks that no stored field is left that the
   * class neither declares nor declares dropped. Called for every instance not stored
   * exactly as the class is now. Throws a `Version` CheckpointError when that is not
   * possible.
   */
  upgrade(
    data: Record<string, unknown>,
    fromVersion: number,
    fromBaseVersions?: ReadonlyMap<string, number>,
  ): Record<string, unknown>;
  /**
   * Optional: the field values to store for `instance`, when they are not simply its
   * properties (class-transformer `@Transform` functions for saving). Classes without it
   * cost the encoder nothing extra.
   */
  readonly saveFields?: (instance: object) => Record<string, unknown>;
  /**
   * Optional: adjusts the decoded (and upgraded) field values before they are assigned
   * (class-transformer `@Transform` functions for restoring).
   */
  readonly restoreFields?: (data: Record<string, unknown>) => Record<string, unknown>;
}

/**
 * Finds the {@link CodecClass} of a constructor (to save) or of a stored name (to restore).
 * `metadataRegistry` is one; `CodecContext.classes` hands the codec another.
 *
 * @example
 * ```ts
 * const standIns: ClassLookup = {
 *   byConstructor: () => undefined,
 *   byName: (name) => (name === 'Parcel' ? standIn : undefined),
 * };
 * decodeValue(bytes, { classes: standIns });
 * ```
 */
export interface ClassLookup {
  /**
   * The binding of exactly this constructor (not of a parent class), if registered. May
   * throw a `Metadata` CheckpointError for a half-annotated class (fields but no class
   * decorator), so that such a class fails loudly instead of falling through to another path.
   */
  byConstructor(ctor: Function): CodecClass | undefined;
  /** The binding registered under `name`, if any. */
  byName(name: string): CodecClass | undefined;
}

/**
 * The lookup that knows no class: the codec's default, under which an instance of a user
 * class cannot be saved and a stored one cannot be restored.
 *
 * @example
 * ```ts
 * encodeValue(value, { classes: NO_CLASSES }); // plain data only
 * ```
 */
export const NO_CLASSES: ClassLookup = {
  byConstructor: () => undefined,
  byName: () => undefined,
};
