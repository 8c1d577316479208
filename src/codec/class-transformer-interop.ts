import { instanceToPlain, plainToInstance } from 'class-transformer';
// class-transformer keeps its decorator metadata in this singleton; it has no public
// "is this class decorated" query, so we read the maps its decorators fill.
import { defaultMetadataStorage } from 'class-transformer/cjs/storage';

type MetadataMaps = Record<
  '_typeMetadatas' | '_transformMetadatas' | '_exposeMetadatas' | '_excludeMetadatas',
  Map<Function, unknown>
>;

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

/** `instanceToPlain` with the options this library always uses. */
export function toPlain(instance: object): unknown {
  return instanceToPlain(instance, { enableCircularCheck: true });
}

/** `plainToInstance` with the options this library always uses. */
export function fromPlain<T>(type: new (...args: never[]) => T, plain: unknown): T {
  return plainToInstance(type as new () => T, plain) as T;
}
