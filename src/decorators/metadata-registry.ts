import { isExcluded, registerFieldType } from '../codec/class-transformer-interop';
import type { ClassLookup } from '../codec/codec-class';
import type {
  CheckpointableOptions,
  CheckpointFieldOptions,
  Migration,
} from './checkpoint-options';
import {
  ClassPlan,
  metadataError,
  resolveField,
  type ClassRecord,
  type FieldPlan,
  type FieldRecord,
} from './class-plan';

const RESERVED_FIELDS = new Set(['__proto__', 'constructor', 'prototype']);
/** design:type values that can never be saved. */
const UNSAVEABLE = new Map<Function, string>([
  [Function, 'a function'],
  [Symbol, 'a symbol'],
  [Promise, 'a Promise'],
  [WeakMap, 'a WeakMap'],
  [WeakSet, 'a WeakSet'],
]);

/**
 * The one registry of `@Checkpointable` classes, keyed by constructor. Decorators record
 * declarations here; the first save or restore of a class compiles its {@link ClassPlan},
 * which is cached. It is the {@link ClassLookup} that storages and the manager hand the
 * codec.
 *
 * @example
 * ```ts
 * const plan = metadataRegistry.planOf(Order); // fields, version, name
 * metadataRegistry.clear();                     // in tests: forget every class
 * ```
 */
export class MetadataRegistry implements ClassLookup {
  readonly #classes = new Map<Function, ClassRecord>();
  readonly #byName = new Map<string, ClassRecord>();
  readonly #fields = new Map<Function, FieldRecord[]>();
  readonly #plans = new Map<Function, ClassPlan>();
  readonly #planByName = new Map<string, ClassPlan>();
  #unregistered = new WeakSet<Function>();

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
    if (this.#classes.has(ctor)) {
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
    const declaration: ClassRecord = {
      ctor,
      name,
      version,
      migrations,
      construct,
      droppedFields: [...(dropped as string[])],
    };
    this.#classes.set(ctor, declaration);
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
    registerFieldType(ctor, name, designType, typeThunk);
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
    const plan = this.#plans.get(ctor);
    if (plan !== undefined || this.#unregistered.has(ctor)) return plan;
    return this.#compile(ctor);
  }

  /**
   * True when `ctor` itself carries `@Checkpointable()`. Compiles nothing.
   * @example
   * ```ts
   * metadataRegistry.isDeclared(Order); // true
   * ```
   */
  isDeclared(ctor: Function): boolean {
    return this.#classes.has(ctor);
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
   * Forgets every class and cached plan: for tests that declare classes with the same
   * names again. Classes declared before stop being savable until declared again.
   *
   * @example
   * ```ts
   * afterEach(() => metadataRegistry.clear());
   * ```
   */
  clear(): void {
    this.#classes.clear();
    this.#byName.clear();
    this.#fields.clear();
    this.#plans.clear();
    this.#planByName.clear();
    this.#unregistered = new WeakSet();
  }

  #compile(ctor: Function): ClassPlan | undefined {
    const declaration = this.#classes.get(ctor);
    const chain: Function[] = [];
    for (
      let c: unknown = ctor;
      typeof c === 'function' && c !== Function.prototype;
      c = Object.getPrototypeOf(c)
    ) {
      chain.unshift(c as Function);
    }
    const declared: FieldRecord[] = [];
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
      if (isExcluded(ctor, field.name)) continue;
      fields.push(resolveField(ctor, field));
    }
    const bases = chain
      .slice(0, -1)
      .map((c) => this.#classes.get(c))
      .filter((d) => d !== undefined);
    const plan = new ClassPlan(declaration, fields, bases, (c) => this.isDeclared(c));
    this.#plans.set(ctor, plan);
    this.#planByName.set(declaration.name, plan);
    return plan;
  }
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
