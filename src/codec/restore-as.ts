import { CheckpointError, quote } from '../errors';
import { NO_CLASSES } from './codec-class';
import { fromPlain } from './class-transformer-interop';
import { describeValue } from './describe-value';
import type { CodecContext } from './encoder';

/**
 * A class (or a built-in constructor such as `Date` or `Map`) to restore a value as.
 * Abstract classes are accepted so that a base class can be asked for.
 */
export type ClassType<T> = abstract new (...args: never[]) => T;

const PRIMITIVES = new Map<Function, string>([
  [String, 'string'],
  [Number, 'number'],
  [Boolean, 'boolean'],
  [BigInt, 'bigint'],
]);

/**
 * Gives a decoded value the type the caller asked for with `get(key, Type)`:
 * - a registered (`@Checkpointable`) class or a built-in: the stored value must already
 *   be an instance of it (stored data never chooses a class the caller did not allow);
 * - `String`, `Number`, `Boolean`, `BigInt`: the stored value must have that type;
 * - any other class: a stored plain object is handed to class-transformer's
 *   `plainToInstance`, which honours `@Type`, `@Expose`, `@Exclude` and `@Transform`.
 *
 * @throws {CheckpointError} `Deserialize` naming the key, what is stored and what was asked
 *
 * @example
 * ```ts
 * const when = restoreAs(decodeValue(bytes), Date, { key: 'when' });
 * ```
 */
export function restoreAs<T>(value: unknown, type: ClassType<T>, context: CodecContext = {}): T {
  const primitive = PRIMITIVES.get(type);
  if (primitive !== undefined) {
    if (typeof value === primitive) return value as T;
    throw mismatch(value, type, context);
  }
  if (value instanceof type) return value;
  const registered = (context.classes ?? NO_CLASSES).byConstructor(type) !== undefined;
  const builtIn = (globalThis as Record<string, unknown>)[type.name] === type;
  if (!registered && !builtIn && value !== null && typeof value === 'object') {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto === Object.prototype || proto === null || Array.isArray(value)) {
      return fromPlain(type as unknown as new () => T, value);
    }
  }
  throw mismatch(value, type, context);
}

function mismatch(value: unknown, type: Function, context: CodecContext): CheckpointError {
  const where =
    context.key !== undefined
      ? `key ${quote(context.key)}${context.identifier !== undefined ? ` of checkpoint ${quote(context.identifier)}` : ''}`
      : 'the value';
  return new CheckpointError(
    'Deserialize',
    `Cannot restore ${where} as ${type.name || 'the requested class'}: it holds ${describeValue(value)}. ` +
      `Ask for the type that was saved, or call get() without a type to inspect it.`,
    { identifier: context.identifier, key: context.key },
  );
}
