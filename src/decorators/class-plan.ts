import { CheckpointError } from '../errors';
import type { CodecClass } from '../codec/codec-class';
import { TO_CLASS, TO_PLAIN, transformsOf } from '../codec/class-transformer-interop';
import { describeValue } from '../codec/describe-value';
import type { Migration } from './checkpoint-options';

/**
 * What `@CheckpointField()` recorded on one class for one property, checked but not
 * compiled: its type thunk is not called yet (the class it names may not exist yet).
 * Compiling turns the records of a class and its parents into {@link FieldPlan}s.
 */
export interface FieldRecord {
  readonly name: string;
  readonly designType: Function;
  readonly typeThunk: (() => unknown) | undefined;
}

/**
 * What `@Checkpointable()` recorded on one class: its checked options. Compiling it with
 * its fields and parent classes gives the class's {@link ClassPlan}.
 */
export interface ClassRecord {
  readonly ctor: Function;
  readonly name: string;
  readonly version: number;
  readonly migrations: ReadonlyMap<number, Migration>;
  readonly construct: 'auto' | 'never';
  readonly droppedFields: readonly string[];
}

/**
 * A saved field as compiled into a {@link ClassPlan}: its type resolved, inherited fields
 * included.
 *
 * @example
 * ```ts
 * metadataRegistry.planOf(Order).fields[2]; // { name: 'items', type: LineItem, container: Array }
 * ```
 */
export interface FieldPlan {
  /** The property name. */
  readonly name: string;
  /** The declared class of the value, or of its elements for arrays, Sets and Maps. */
  readonly type: Function;
  /** The container class (`Array`, `Set`, `Map`) when the field holds one. */
  readonly container: Function | undefined;
}

const CONTAINERS = new Set<Function>([Array, Set, Map]);

/**
 * The compiled, cached plan of one `@Checkpointable` class: everything the codec needs to
 * save and restore its instances, worked out once (fields across the inheritance chain,
 * resolved types, how to instantiate, class-transformer transforms), so that the per-object
 * work is a few property reads. It is the registry's {@link CodecClass}.
 *
 * @example
 * ```ts
 * const plan = metadataRegistry.planOf(Order);
 * plan.name; plan.version; plan.fieldNames; // 'Order', 2, ['id', 'placedAt', ...]
 * ```
 */
export class ClassPlan implements CodecClass {
  /** The unique stored name. */
  readonly name: string;
  /** The version this code writes. */
  readonly version: number;
  /** The class. */
  readonly ctor: Function;
  readonly fieldNames: readonly string[];
  /** Present only when a field carries a class-transformer `@Transform` for saving. */
  readonly saveFields?: (instance: object) => Record<string, unknown>;
  /** Present only when a field carries a class-transformer `@Transform` for restoring. */
  readonly restoreFields?: (data: Record<string, unknown>) => Record<string, unknown>;
  /** The registered parent classes, root first, with their current versions. */
  readonly bases: readonly { readonly name: string; readonly version: number }[];
  /** `version`, or `[version, parentName, parentVersion, ...]` when there are parents. */
  readonly storedVersion: number | readonly (string | number)[];
  readonly #create: () => object;
  readonly #baseRecords: readonly ClassRecord[];
  /** Declared and dropped field names: the stored fields that are not an error. */
  readonly #known: ReadonlySet<string>;

  constructor(
    private readonly record: ClassRecord,
    /** The saved fields, parent classes' first. */
    readonly fields: readonly FieldPlan[],
    /** The records of the registered parent classes, root first. */
    baseRecords: readonly ClassRecord[] = [],
    /** True for a class that carries `@Checkpointable()` itself. */
    isDeclared: (ctor: Function) => boolean = () => false,
  ) {
    // Plain fields, not getters: the codec reads name and version for every instance.
    this.name = record.name;
    this.version = record.version;
    this.ctor = record.ctor;
    this.fieldNames = fields.map((f) => f.name);
    this.#baseRecords = baseRecords;
    this.bases = baseRecords.map((d) => ({ name: d.name, version: d.version }));
    this.storedVersion =
      baseRecords.length === 0
        ? record.version
        : [record.version, ...baseRecords.flatMap((d) => [d.name, d.version])];
    const dropped = [record, ...baseRecords].flatMap((d) => d.droppedFields);
    const both = dropped.find((f) => this.fieldNames.includes(f));
    if (both !== undefined) {
      throw metadataError(
        `${record.name} declares the field '${both}' and also lists it in droppedFields; remove it from droppedFields (or remove its @CheckpointField()).`,
      );
    }
    this.#known = new Set([...this.fieldNames, ...dropped]);
    const { ctor } = record;
    const prototype = (ctor as { prototype: object }).prototype;
    this.#create =
      record.construct === 'auto' && takesNoArguments(ctor)
        ? () => constructWithoutArguments(ctor as new () => object, record.name)
        : () => Object.create(prototype) as object;
    const save = transformsOf(ctor, this.fieldNames, TO_PLAIN);
    if (save.length > 0) {
      const names = this.fieldNames;
      this.saveFields = (instance) => {
        const source = instance as Record<string, unknown>;
        const out: Record<string, unknown> = {};
        for (const f of names) out[f] = source[f];
        for (const [f, fns] of save) {
          for (const fn of fns) {
            out[f] = fn({ value: out[f], key: f, obj: instance, type: TO_PLAIN, options: {} });
          }
        }
        return out;
      };
    }
    const restore = transformsOf(ctor, this.fieldNames, TO_CLASS);
    // Fields declared as a @Checkpointable class are checked on restore: stored data may
    // name only registered classes, and here only one that fits the field (or a subclass).
    const typed = fields.filter((f) => f.container === undefined && isDeclared(f.type));
    if (restore.length > 0 || typed.length > 0) {
      const className = record.name;
      this.restoreFields = (data) => {
        for (const [f, fns] of restore) {
          if (!Object.prototype.hasOwnProperty.call(data, f)) continue;
          for (const fn of fns) {
            data[f] = fn({ value: data[f], key: f, obj: data, type: TO_CLASS, options: {} });
          }
        }
        for (const { name, type } of typed) {
          const value = data[name];
          if (value !== undefined && value !== null && !(value instanceof type)) {
            throw new CheckpointError(
              'Deserialize',
              `The stored ${className}.${name} holds ${describeValue(value)}, but the field is declared as ${type.name}; the data does not fit this class (was it written by other code, or does a migration need to convert it?).`,
            );
          }
        }
        return data;
      };
    }
  }

  instantiate(): object {
    return this.#create();
  }

  upgrade(
    data: Record<string, unknown>,
    fromVersion: number,
    fromBaseVersions?: ReadonlyMap<string, number>,
  ): Record<string, unknown> {
    let current = data;
    let migrated = fromVersion < this.version;
    // Parents first: a subclass's migrations may rely on its parent's fields being current.
    for (const base of this.#baseRecords) {
      const from = fromBaseVersions?.get(base.name) ?? base.version;
      if (from < base.version) migrated = true;
      if (from > base.version) {
        throw new CheckpointError(
          'Version',
          `Stored ${this.name} holds its parent class ${base.name} at version ${from}, but this code knows versions of ${base.name} up to ${base.version}; deploy the newer code that wrote it, or restore with it.`,
        );
      }
      current = migrate(base, current, from, `${this.name}'s parent class ${base.name}`);
    }
    current = migrate(this.record, current, fromVersion, this.name);
    for (const field in current) {
      if (!this.#known.has(field)) throw this.#undeclared(field, migrated);
    }
    return current;
  }

  #undeclared(field: string, migrated: boolean): CheckpointError {
    const { name, version } = this;
    const f = JSON.stringify(field.length > 80 ? `${field.slice(0, 80)}…` : field);
    return new CheckpointError(
      'Version',
      `Stored ${name}${migrated ? ', after its migrations,' : ''} has the field ${f}, which ${name} (version ${version}) does not declare, so its value would be lost; if the field was renamed or removed, raise the version and add a migration that renames or removes it (migrations: { ${version}: ({ ${/^[A-Za-z_$][\w$]*$/.test(field) ? field : 'old'}, ...rest }) => ({ ...rest }) }), or, to throw the stored value away, declare @Checkpointable({ name: '${name}', droppedFields: [${f}] }).`,
    );
  }
}

/**
 * Runs `record`'s migrations on `data` stored at `fromVersion`, up to its current
 * version; `what` names the stored thing in messages.
 */
function migrate(
  record: ClassRecord,
  data: Record<string, unknown>,
  fromVersion: number,
  what: string,
): Record<string, unknown> {
  const { name, version, migrations } = record;
  let current = data;
  for (let v = fromVersion; v < version; v++) {
    const step = migrations.get(v);
    if (step === undefined) {
      throw new CheckpointError(
        'Version',
        `Stored ${what} has version ${fromVersion}, but this code (version ${version}) has no migration from version ${v} to ${v + 1}; add migrations: { ${v}: (data) => ({ ...upgraded fields }) } to @Checkpointable({ name: '${name}' }).`,
      );
    }
    try {
      current = step(current);
    } catch (error) {
      if (error instanceof CheckpointError) throw error;
      throw new CheckpointError(
        'Version',
        `The migration of ${name} from version ${v} to ${v + 1} threw: ${errorText(error)}; fix migrations[${v}] of @Checkpointable({ name: '${name}' }).`,
        { cause: error },
      );
    }
    if (current === null || typeof current !== 'object' || Array.isArray(current)) {
      throw new CheckpointError(
        'Version',
        `The migration of ${name} from version ${v} to ${v + 1} returned ${current === null ? 'null' : Array.isArray(current) ? 'an array' : `a ${typeof current}`}; migrations[${v}] must return the object of upgraded field values.`,
      );
    }
  }
  return current;
}

/**
 * The {@link FieldPlan} of a recorded field: calls its type thunk, now that the classes
 * exist.
 * @throws {CheckpointError} `Metadata` when the thunk throws or returns no class
 * @example
 * ```ts
 * resolveField(Order, { name: 'items', designType: Array, typeThunk: () => LineItem });
 * ```
 */
export function resolveField(ctor: Function, field: FieldRecord): FieldPlan {
  const container = CONTAINERS.has(field.designType) ? field.designType : undefined;
  if (field.typeThunk === undefined) {
    return { name: field.name, type: field.designType, container };
  }
  let type: unknown;
  try {
    type = field.typeThunk();
  } catch (error) {
    throw metadataError(
      `@CheckpointField({ type }) on ${ctor.name}.${field.name}: the type function threw (${errorText(error)}); it must return a class, as in { type: () => LineItem }.`,
    );
  }
  if (typeof type !== 'function') {
    throw metadataError(
      `@CheckpointField({ type }) on ${ctor.name}.${field.name}: the type function returned ${type === undefined ? 'undefined' : typeof type}, not a class; this usually means a circular import: keep { type: () => X } as a function and import X where it is defined.`,
    );
  }
  return { name: field.name, type, container };
}

function takesNoArguments(ctor: Function): boolean {
  for (
    let c: unknown = ctor;
    typeof c === 'function' && c !== Function.prototype;
    c = Object.getPrototypeOf(c)
  ) {
    if ((c as Function).length !== 0) return false;
  }
  return true;
}

function constructWithoutArguments(ctor: new () => object, name: string): object {
  try {
    return new ctor();
  } catch (error) {
    throw metadataError(
      `Restoring ${name} ran its constructor without arguments, which threw: ${errorText(error)}; make the constructor work without arguments, or set @Checkpointable({ name: '${name}', construct: 'never' }) to restore without running it.`,
    );
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A `Metadata` CheckpointError: a class or field is declared in a way that cannot work.
 * @example
 * ```ts
 * throw metadataError('Order declares ...; do ...');
 * ```
 */
export function metadataError(message: string): CheckpointError {
  return new CheckpointError('Metadata', message);
}
