import { instanceToPlain, plainToInstance, TransformationType, Type } from 'class-transformer';
// class-transformer keeps its decorator metadata in this singleton and has no public query
// for it ("is this class decorated", "which @Transform applies"); this module is the one
// place that reads its store (typings in class-transformer-storage.d.ts).
import { defaultMetadataStorage } from 'class-transformer/cjs/storage';

type MetadataMaps = Record<
  '_typeMetadatas' | '_transformMetadatas' | '_exposeMetadatas' | '_excludeMetadatas',
  Map<Function, unknown>
>;

/** A class-transformer `@Transform` function, as its store holds it. */
export type TransformFn = (params: {
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

const store = defaultMetadataStorage as TransformMetadataStore;

/** The direction of a class-transformer `@Transform`: saving (to plain) or restoring. */
export const TO_PLAIN = TransformationType.CLASS_TO_PLAIN;
/** See {@link TO_PLAIN}. */
export const TO_CLASS = TransformationType.PLAIN_TO_CLASS;

/** Types a field can have without a class-transformer `@Type` to rebuild it. */
const SCALARS = new Set<Function>([String, Number, Boolean, BigInt, Object, Array, Set, Map]);

const decorated = new WeakMap<Function, boolean>();

/**
 * True when `ctor` or one of its ancestors carries a class-transformer decorator
 * (`@Type`, `@Expose`, `@Exclude`, `@Transform`). Such classes are saved with
 * `instanceToPlain` and restored with `plainToInstance`, honouring those decorators.
 *
 * @example
 * ```ts
 * class Money { @Type(() => Number) amount!: number }
 * hasClassTransformerMetadata(Money); // true
 * ```
 */
export function hasClassTransformerMetadata(ctor: Function): boolean {
  const known = decorated.get(ctor);
  if (known !== undefined) return known;
  const maps = defaultMetadataStorage as unknown as MetadataMaps;
  let result = false;
  for (
    let c: unknown = ctor;
    typeof c === 'function' && c !== Function.prototype;
    c = Object.getPrototypeOf(c)
  ) {
    const target = c as Function;
    if (
      maps._typeMetadatas?.has(target) ||
      maps._transformMetadatas?.has(target) ||
      maps._exposeMetadatas?.has(target) ||
      maps._excludeMetadatas?.has(target)
    ) {
      result = true;
      break;
    }
  }
  decorated.set(ctor, result);
  return result;
}

/**
 * True when the property `name` of `ctor` carries class-transformer's `@Exclude`.
 *
 * @example
 * ```ts
 * isExcluded(Order, 'cache'); // true for `@Exclude() cache`
 * ```
 */
export function isExcluded(ctor: Function, name: string): boolean {
  return store.findExcludeMetadata(ctor, name) !== undefined;
}

/**
 * Per property of `names`, the class-transformer `@Transform` functions of one direction;
 * properties without any are left out.
 *
 * @example
 * ```ts
 * transformsOf(Order, ['total'], TO_PLAIN); // [['total', [fn]]]
 * ```
 */
export function transformsOf(
  ctor: Function,
  names: readonly string[],
  direction: TransformationType,
): [string, TransformFn[]][] {
  const out: [string, TransformFn[]][] = [];
  for (const name of names) {
    const fns = store.findTransformMetadatas(ctor, name, direction).map((m) => m.transformFn);
    if (fns.length > 0) out.push([name, fns]);
  }
  return out;
}

/**
 * Gives class-transformer the `@Type` a field needs for `plainToInstance` (nested classes,
 * Dates, element classes), unless the user wrote their own `@Type` on it.
 *
 * @example
 * ```ts
 * registerFieldType(Order, 'items', Array, () => LineItem);
 * ```
 */
export function registerFieldType(
  ctor: Function,
  name: string,
  designType: Function | undefined,
  typeThunk: (() => unknown) | undefined,
): void {
  if (store.findTypeMetadata(ctor, name) !== undefined) return;
  let thunk: (() => Function) | undefined;
  if (typeThunk !== undefined) thunk = typeThunk as () => Function;
  else if (designType !== undefined && !SCALARS.has(designType)) thunk = () => designType;
  if (thunk === undefined) return;
  Type(thunk)((ctor as { prototype: object }).prototype, name);
}

/** `instanceToPlain` with the options this library always uses. */
export function toPlain(instance: object): unknown {
  return instanceToPlain(instance, { enableCircularCheck: true });
}

/** `plainToInstance` with the options this library always uses. */
export function fromPlain<T>(type: new (...args: never[]) => T, plain: unknown): T {
  return plainToInstance(type as new () => T, plain) as T;
}
