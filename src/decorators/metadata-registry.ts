import { TransformationType, Type } from 'class-transformer';
// class-transformer has no public query for its decorators; we read its singleton, as the
// codec's interop module does (typings in src/codec/class-transformer-storage.d.ts).
import { defaultMetadataStorage } from 'class-transformer/cjs/storage';
import { useClassBindings, type ClassBinding, type ClassBindings } from '../codec/class-bindings';
import { describeValue } from '../codec/describe-value';
import { CheckpointError } from '../errors';

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

/** A field as declared by `@CheckpointField()`, before its type thunk is resolved. */
interface FieldDeclaration {
  readonly name: string;
  readonly designType: Function;
  readonly typeThunk: (() => unknown) | undefined;
}

/** A class as declared by `@Checkpointable()`. */
interface ClassDeclaration {
  readonly ctor: Function;
  readonly name: string;
  readonly version: number;
  readonly migrations: ReadonlyMap<number, Migration>;
  readonly construct: 'auto' | 'never';
  readonly droppedFields: readonly string[];
}

/**
 * A saved field, with its type resolved.
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

type TransformFn = (params: {
  value: unknown;
  key: string;
  obj: unknown;
  type: TransformationType;
  options: object;
}) => unknown;

interface TransformMetadataStore {
  findTransformMetadatas(
    target: Function,
    property: string,
    type: TransformationType,
  ): { transformFn: TransformFn }[];
  findExcludeMetadata(target: Function, property: string): unknown;
  findTypeMetadata(target: Function, property: string): unknown;
}

const ctStorage = defaultMetadataStorage as TransformMetadataStore;
const TO_PLAIN = TransformationType.CLASS_TO_PLAIN;
const TO_CLASS = TransformationType.PLAIN_TO_CLASS;

const RESERVED_FIELDS = new Set(['__proto__', 'constructor', 'prototype']);
const CONTAINERS = new Set<Function>([Array, Set, Map]);
/** Types a field can have without a class-transformer `@Type` to rebuild it. */
const SCALARS = new Set<Function>([String, Number, Boolean, BigInt, Object, Array, Set, Map]);
/** design:type values that can never be saved. */
const UNSAVEABLE = new Map<Function, string>([
  [Function, 'a function'],
  [Symbol, 'a symbol'],
  [Promise, 'a Promise'],
  [WeakMap, 'a WeakMap'],
  [WeakSet, 'a WeakSet'],
]);

/**
 * The compiled, cached plan of one `@Checkpointable` class: everything the codec needs to
 * save and restore its instances, worked out once (fields across the inheritance chain,
 * resolved types, how to instantiate, class-transformer transforms), so that the per-object
 * work is a few property reads.
 *
 * @example
 * ```ts
 * const plan = metadataRegistry.planOf(Order);
 * plan.name; plan.version; plan.fieldNames; // 'Order', 2, ['id', 'placedAt', ...]
 * ```
 */
export class ClassPlan implements ClassBinding {
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
  readonly #baseDeclarations: readonly ClassDeclaration[];
  /** Declared and dropped field names: the stored fields that are not an error. */
  readonly #known: ReadonlySet<string>;

  constructor(
    private readonly registry: MetadataRegistry,
    private readonly declaration: ClassDeclaration,
    /** The saved fields, parent classes' first. */
    readonly fields: readonly FieldPlan[],
    /** The declarations of the registered parent classes, root first. */
    baseDeclarations: readonly ClassDeclaration[] = [],
  ) {
    // Plain fields, not getters: the codec reads name and version for every instance.
    this.name = declaration.name;
    this.version = declaration.version;
    this.ctor = declaration.ctor;
    this.fieldNames = fields.map((f) => f.name);
    this.#baseDeclarations = baseDeclarations;
    this.bases = baseDeclarations.map((d) => ({ name: d.name, version: d.version }));
    this.storedVersion =
      baseDeclarations.length === 0
        ? declaration.version
        : [declaration.version, ...baseDeclarations.flatMap((d) => [d.name, d.version])];
    const dropped = [declaration, ...baseDeclarations].flatMap((d) => d.droppedFields);
    const both = dropped.find((f) => this.fieldNames.includes(f));
    if (both !== undefined) {
      throw metadataError(
        `${declaration.name} declares the field '${both}' and also lists it in droppedFields; remove it from droppedFields (or remove its @CheckpointField()).`,
      );
    }
    this.#known = new Set([...this.fieldNames, ...dropped]);
    const { ctor } = declaration;
    const prototype = (ctor as { prototype: object }).prototype;
    this.#create =
      declaration.construct === 'auto' && takesNoArguments(ctor)
        ? () => constructWithoutArguments(ctor as new () => object, declaration.name)
        : () => Object.create(prototype) as object;
    const save = transformsOf(ctor, this.fieldNames, TO_PLAIN);
    if (save.length > 0) {
      const names = this.fieldNames;
      this.saveFields = (instance) => {
        const record = instance as Record<string, unknown>;
        const out: Record<string, unknown> = {};
        for (const f of names) out[f] = record[f];
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
    const typed = fields.filter((f) => f.container === undefined && registry.isDeclared(f.type));
    if (restore.length > 0 || typed.length > 0) {
      const className = declaration.name;
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
    for (const base of this.#baseDeclarations) {
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
    current = migrate(this.declaration, current, fromVersion, this.name);
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
 * Runs `declaration`'s migrations on `data` stored at `fromVersion`, up to its current
 * version; `what` names the stored thing in messages.
 */
function migrate(
  declaration: ClassDeclaration,
  data: Record<string, unknown>,
  fromVersion: number,
  what: string,
): Record<string, unknown> {
  const { name, version, migrations } = declaration;
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
 * The one registry of `@Checkpointable` classes, keyed by constructor. Decorators record
 * declarations here; the first save or restore of a class compiles its {@link ClassPlan},
 * which is cached. It is the {@link ClassBindings} the codec consults, installed when this
 * module loads.
 *
 * @example
 * ```ts
 * const plan = metadataRegistry.planOf(Order); // fields, version, name
 * metadataRegistry.clear();                     // in tests: forget every class
 * ```
 */
export class MetadataRegistry implements ClassBindings {
  readonly #declarations = new Map<Function, ClassDeclaration>();
  readonly #byName = new Map<string, ClassDeclaration>();
  readonly #fields = new Map<Function, FieldDeclaration[]>();
  readonly #plans = new Map<Function, ClassPlan>();
  readonly #planByName = new Map<string, ClassPlan>();
  #unregistered = new WeakSet<Function>();
  #collecting: Set<ClassPlan> | undefined;

  /**
   * Records `@Checkpointable(options)` on `ctor` (what the decorator calls).
   * @throws {CheckpointError} `Metadata` for a bad option or a name another class has
   * @example
   * ```ts
   * metadataRegistry.declareClass(Order, { name: 'Order' });
   * ```
   */
  declareClass(ctor: Function, options: CheckpointableOptions): void {
    const className = ctor.name || '(anonymous class)';
    const name = options.name ?? ctor.name;
    if (typeof name !== 'string' || name.length === 0) {
      throw metadataError(
        `@Checkpointable() on ${className} needs a name: the class has none at run time; write @Checkpointable({ name: 'MyClass' }).`,
      );
    }
    if (this.#declarations.has(ctor)) {
      throw metadataError(`@Checkpointable() is applied twice to ${className}; keep one.`);
    }
    const clash = this.#byName.get(name);
    if (clash !== undefined) {
      throw metadataError(
        `The checkpoint name '${name}' is used by two classes: ${clash.ctor.name || '(anonymous class)'} and ${className}; names are stored with the data and must be unique: give one of them another name with @Checkpointable({ name: '...' }).`,
      );
    }
    const version = options.version ?? 1;
    if (!Number.isSafeInteger(version) || version < 1) {
      throw metadataError(
        `@Checkpointable({ name: '${name}' }) on ${className} has version ${String(version)}; a version is a positive integer (1, 2, 3, ...).`,
      );
    }
    const migrations = new Map<number, Migration>();
    for (const [key, step] of Object.entries(options.migrations ?? {})) {
      const from = Number(key);
      if (!Number.isSafeInteger(from) || from < 1 || from >= version) {
        throw metadataError(
          `@Checkpointable({ name: '${name}' }) on ${className} has migrations[${key}], but with version ${version} the migrations are numbered 1 to ${version - 1} (migrations[N] upgrades version N to N + 1); renumber it or raise the version.`,
        );
      }
      if (typeof step !== 'function') {
        throw metadataError(
          `@Checkpointable({ name: '${name}' }) on ${className}: migrations[${key}] is not a function; write migrations: { ${key}: (data) => ({ ...upgraded fields }) }.`,
        );
      }
      migrations.set(from, step);
    }
    const construct = options.construct ?? 'auto';
    if (construct !== 'auto' && construct !== 'never') {
      throw metadataError(
        `@Checkpointable({ name: '${name}' }) on ${className} has construct: ${JSON.stringify(construct)}; use 'auto' or 'never'.`,
      );
    }
    const dropped: unknown = options.droppedFields ?? [];
    if (
      !Array.isArray(dropped) ||
      !dropped.every((f) => typeof f === 'string' && f.length > 0 && !RESERVED_FIELDS.has(f))
    ) {
      throw metadataError(
        `@Checkpointable({ name: '${name}' }) on ${className} has droppedFields that is not a list of field names; write droppedFields: ['oldField'].`,
      );
    }
    const declaration: ClassDeclaration = {
      ctor,
      name,
      version,
      migrations,
      construct,
      droppedFields: [...(dropped as string[])],
    };
    this.#declarations.set(ctor, declaration);
    this.#byName.set(name, declaration);
  }

  /**
   * Records `@CheckpointField(options)` on the property `name` of the class `ctor` (what
   * the decorator calls).
   * @throws {CheckpointError} `Metadata` when the field's type cannot be known or saved
   * @example
   * ```ts
   * metadataRegistry.declareField(Order, 'items', { type: () => LineItem });
   * ```
   */
  declareField(ctor: Function, name: string, options: CheckpointFieldOptions): void {
    const where = `${ctor.name || '(anonymous class)'}.${name}`;
    if (RESERVED_FIELDS.has(name)) {
      throw metadataError(
        `@CheckpointField() on ${where}: the name '${name}' is reserved (restoring it could change an object's prototype); rename the property.`,
      );
    }
    const own = this.#fields.get(ctor) ?? [];
    if (own.some((f) => f.name === name)) {
      throw metadataError(`@CheckpointField() is applied twice to ${where}; keep one.`);
    }
    const designType = Reflect.getMetadata(
      'design:type',
      (ctor as { prototype: object }).prototype,
      name,
    ) as Function | undefined;
    const typeThunk = options.type;
    if (typeThunk !== undefined && typeof typeThunk !== 'function') {
      throw metadataError(
        `@CheckpointField() on ${where}: the type option must be a function returning the class, as in { type: () => LineItem }.`,
      );
    }
    if (typeThunk === undefined) {
      if (designType === undefined) {
        throw metadataError(
          `@CheckpointField() on ${where}: TypeScript emitted no type for this field; annotate its type (${name}: T = ..., not ${name} = ...), keep "emitDecoratorMetadata" on with tsc or SWC (esbuild drops it), or say it with @CheckpointField({ type: () => X }).`,
        );
      }
      if (designType === Object) {
        throw metadataError(
          `@CheckpointField() on ${where}: the type of this field cannot be known at run time (it is an interface, a union, any, or has no type annotation); say it with @CheckpointField({ type: () => X }), or { type: () => Object } for plain data of any shape.`,
        );
      }
    }
    const unsaveable = designType === undefined ? undefined : UNSAVEABLE.get(designType);
    if (unsaveable !== undefined) {
      throw metadataError(
        `@CheckpointField() on ${where}: the field holds ${unsaveable}, which cannot be saved; save the data it is built from instead.`,
      );
    }
    own.push({ name, designType: designType ?? Object, typeThunk });
    this.#fields.set(ctor, own);
    registerClassTransformerType(ctor, name, designType, typeThunk);
  }

  /**
   * The compiled plan of exactly `ctor`, when it is `@Checkpointable`.
   * @throws {CheckpointError} `Metadata` when `ctor` has `@CheckpointField` fields (its own
   *   or inherited) but no `@Checkpointable()`, or a field's type thunk returns no class
   * @example
   * ```ts
   * metadataRegistry.byConstructor(Order)?.name; // 'Order'
   * ```
   */
  byConstructor(ctor: Function): ClassPlan | undefined {
    let plan = this.#plans.get(ctor);
    if (plan === undefined) {
      if (this.#unregistered.has(ctor)) return undefined;
      plan = this.#compile(ctor);
      if (plan === undefined) return undefined;
    }
    if (this.#collecting !== undefined) this.#collecting.add(plan);
    return plan;
  }

  /**
   * True when `ctor` itself carries `@Checkpointable()`. Compiles nothing.
   * @example
   * ```ts
   * metadataRegistry.isDeclared(Order); // true
   * ```
   */
  isDeclared(ctor: Function): boolean {
    return this.#declarations.has(ctor);
  }

  /**
   * The compiled plan of the class registered under `name`, if any.
   * @example
   * ```ts
   * metadataRegistry.byName('Order')?.ctor; // Order
   * ```
   */
  byName(name: string): ClassPlan | undefined {
    // One lookup on the restore path once the class is compiled.
    const plan = this.#planByName.get(name);
    if (plan !== undefined) return plan;
    const declaration = this.#byName.get(name);
    return declaration === undefined ? undefined : this.#compile(declaration.ctor);
  }

  /**
   * The plan of `ctor`, which must be `@Checkpointable`.
   * @throws {CheckpointError} `Metadata` naming the class and the decorator to add
   * @example
   * ```ts
   * metadataRegistry.planOf(Order).fieldNames;
   * ```
   */
  planOf(ctor: Function): ClassPlan {
    const plan = this.byConstructor(ctor);
    if (plan === undefined) {
      const name = ctor.name || '(anonymous class)';
      throw metadataError(
        `${name} is not @Checkpointable; add @Checkpointable({ name: '${name}' }) to the class and @CheckpointField() to the fields to save.`,
      );
    }
    return plan;
  }

  /**
   * Runs `work` (synchronous) and returns the classes whose instances it encoded.
   * Used by the manager to record the classes inside a checkpoint.
   * @example
   * ```ts
   * const { result: bytes, classes } = metadataRegistry.collectClasses(() => encodeValue(order));
   * ```
   */
  collectClasses<T>(work: () => T): { result: T; classes: ClassPlan[] } {
    const outer = this.#collecting;
    const seen = new Set<ClassPlan>();
    this.#collecting = seen;
    try {
      const result = work();
      return { result, classes: [...seen] };
    } finally {
      this.#collecting = outer;
      if (outer !== undefined) for (const plan of seen) outer.add(plan);
    }
  }

  /**
   * Forgets every class and cached plan: for tests that declare classes with the same
   * names again. Classes declared before stop being savable until declared again.
   *
   * @example
   * ```ts
   * afterEach(() => metadataRegistry.clear());
   * ```
   */
  clear(): void {
    this.#declarations.clear();
    this.#byName.clear();
    this.#fields.clear();
    this.#plans.clear();
    this.#planByName.clear();
    this.#unregistered = new WeakSet();
  }

  #compile(ctor: Function): ClassPlan | undefined {
    const declaration = this.#declarations.get(ctor);
    const chain: Function[] = [];
    for (
      let c: unknown = ctor;
      typeof c === 'function' && c !== Function.prototype;
      c = Object.getPrototypeOf(c)
    ) {
      chain.unshift(c as Function);
    }
    const declared: FieldDeclaration[] = [];
    for (const c of chain) {
      for (const field of this.#fields.get(c) ?? []) {
        const i = declared.findIndex((f) => f.name === field.name);
        if (i >= 0) declared[i] = field;
        else declared.push(field);
      }
    }
    if (declaration === undefined) {
      if (declared.length > 0) {
        const name = ctor.name || '(anonymous class)';
        throw metadataError(
          `${name} has @CheckpointField() fields (its own or inherited) but is not @Checkpointable itself; add @Checkpointable({ name: '${name}' }) to ${name}.`,
        );
      }
      this.#unregistered.add(ctor);
      return undefined;
    }
    const fields: FieldPlan[] = [];
    for (const field of declared) {
      // class-transformer's @Exclude wins: the user asked for the field to stay out.
      if (ctStorage.findExcludeMetadata(ctor, field.name) !== undefined) continue;
      fields.push(resolveField(ctor, field));
    }
    const bases = chain
      .slice(0, -1)
      .map((c) => this.#declarations.get(c))
      .filter((d) => d !== undefined);
    const plan = new ClassPlan(this, declaration, fields, bases);
    this.#plans.set(ctor, plan);
    this.#planByName.set(declaration.name, plan);
    return plan;
  }
}

function resolveField(ctor: Function, field: FieldDeclaration): FieldPlan {
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

/** Per saved field, the class-transformer `@Transform` functions of one direction. */
function transformsOf(
  ctor: Function,
  names: readonly string[],
  direction: TransformationType,
): [string, TransformFn[]][] {
  const out: [string, TransformFn[]][] = [];
  for (const name of names) {
    const fns = ctStorage.findTransformMetadatas(ctor, name, direction).map((m) => m.transformFn);
    if (fns.length > 0) out.push([name, fns]);
  }
  return out;
}

/**
 * Gives class-transformer the `@Type` a field needs for `plainToInstance` (nested classes,
 * Dates, element classes), unless the user wrote their own `@Type` on it.
 */
function registerClassTransformerType(
  ctor: Function,
  name: string,
  designType: Function | undefined,
  typeThunk: (() => unknown) | undefined,
): void {
  if (ctStorage.findTypeMetadata(ctor, name) !== undefined) return;
  let thunk: (() => Function) | undefined;
  if (typeThunk !== undefined) thunk = typeThunk as () => Function;
  else if (designType !== undefined && !SCALARS.has(designType)) thunk = () => designType;
  if (thunk === undefined) return;
  Type(thunk)((ctor as { prototype: object }).prototype, name);
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

function metadataError(message: string): CheckpointError {
  return new CheckpointError('Metadata', message);
}

/**
 * The process-wide registry the decorators write to and the codec reads from.
 *
 * @example
 * ```ts
 * import { metadataRegistry } from 'checkpointable';
 * metadataRegistry.planOf(Order).fieldNames; // ['id', 'placedAt', ...]
 * ```
 */
export const metadataRegistry = new MetadataRegistry();
useClassBindings(metadataRegistry);
