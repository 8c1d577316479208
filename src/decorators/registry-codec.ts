import { decodeValue as decode, type DecodeOptions } from '../codec/decoder';
import {
  encodeValueWithClasses as encodeWithClasses,
  type CodecContext,
  type EncodedValue,
} from '../codec/encoder';
import { restoreAs as restore, type ClassType } from '../codec/restore-as';
import { metadataRegistry } from './metadata-registry';

/**
 * The codec with the `@Checkpointable` registry as its classes: what the package exports
 * and what storages, the manager and the LangGraph saver use. A context that names its own
 * `classes` keeps them.
 */
function withRegistry(context: CodecContext): CodecContext {
  return context.classes !== undefined ? context : { ...context, classes: metadataRegistry };
}

/**
 * Encodes a value into the codec's bytes; instances of `@Checkpointable` classes are saved
 * with their class name and version. The value is read completely before this returns, so
 * later changes to it never reach the bytes.
 *
 * @throws {CheckpointError} `Serialize` naming the path to the value that cannot be saved:
 *   an unsupported kind, nesting deeper than 1,000 levels, a bigint of more than 1,000,000
 *   digits, text longer than the longest JavaScript string, or an error thrown by the
 *   value itself while it is read (a getter, a Proxy trap), which becomes the `cause`
 *
 * @example
 * ```ts
 * const bytes = encodeValue({ at: new Date(), tags: new Set(['a']) });
 * const copy = decodeValue(bytes); // a new Date and a new Set
 * ```
 */
export function encodeValue(value: unknown, context: CodecContext = {}): Buffer {
  return encodeWithClasses(value, withRegistry(context)).bytes;
}

/**
 * {@link encodeValue}, also reporting the `@Checkpointable` classes whose instances the
 * value holds.
 *
 * @throws {CheckpointError} `Serialize`, as {@link encodeValue}
 *
 * @example
 * ```ts
 * const { bytes, classes } = encodeValueWithClasses(order);
 * classes.map((c) => c.name); // ['Order', 'LineItem']
 * ```
 */
export function encodeValueWithClasses(value: unknown, context: CodecContext = {}): EncodedValue {
  return encodeWithClasses(value, withRegistry(context));
}

/**
 * Decodes bytes written by {@link encodeValue}, rebuilding `@Checkpointable` instances
 * (running their migrations when they were stored at an older version).
 *
 * @throws {CheckpointError} `Deserialize` when the bytes are not codec data (for example
 *   data written through a different wrapper chain), hold something invalid or damaged (a
 *   class version no code writes, a blob named twice), or pass a limit (nesting deeper than
 *   1,000 levels, a bigint of more than 1,000,000 digits); `Version` when a stored class
 *   instance is newer than the code, needs a migration it lacks, or holds a field its class
 *   neither declares nor lists in `droppedFields`
 *
 * @example
 * ```ts
 * const value = decodeValue(await checkpoint.getBytes('order'));
 * ```
 */
export function decodeValue(
  bytes: Uint8Array,
  context: CodecContext = {},
  options: DecodeOptions = {},
): unknown {
  return decode(bytes, withRegistry(context), options);
}

/**
 * Gives a decoded value the type the caller asked for with `get(key, Type)`; a
 * `@Checkpointable` class must already be the stored instance's class.
 *
 * @throws {CheckpointError} `Deserialize` naming the key, what is stored and what was asked
 *
 * @example
 * ```ts
 * const when = restoreAs(decodeValue(bytes), Date, { key: 'when' });
 * ```
 */
export function restoreAs<T>(value: unknown, type: ClassType<T>, context: CodecContext = {}): T {
  return restore(value, type, withRegistry(context));
}
