import { constants } from 'node:buffer';
import { CheckpointError, quote } from '../errors';
import { NO_CLASSES, type ClassLookup, type CodecClass } from './codec-class';
import { hasClassTransformerMetadata, toPlain } from './class-transformer-interop';
import { bigintText, tooManyDigits } from './bigint-limit';
import { BINARY_TYPES, CODEC_HEADER_SIZE, CODEC_ID_TAGGED_JSON, CODEC_MAGIC, TAG } from './format';
import { MAX_DEPTH, segment, shortPath, tooDeep, ValuePathError } from './value-path';

/**
 * Where a value is being saved or restored (for error messages), and with which classes.
 *
 * @example
 * ```ts
 * encodeValue(order, { identifier: 'order-42', key: 'order' });
 * ```
 */
export interface CodecContext {
  identifier?: string;
  key?: string;
  /**
   * The classes whose instances can be saved and restored. The package's `encodeValue` and
   * `decodeValue`, storages and the manager use the `@Checkpointable` registry; the codec
   * alone knows none.
   */
  classes?: ClassLookup;
}

const OBJECT_PROTO = Object.prototype;
/** The largest length a stored u32 length field can hold. */
const MAX_PART_BYTES = 0xffffffff;
const KEY_FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Walks a value once and produces the JSON-safe tree of format.ts, collecting binary
 * contents into a blob table. One instance per encode: it holds the identity map that
 * turns shared references and cycles into back-references.
 */
class Encoder {
  private readonly seen = new Map<object, number>();
  private depth = 0;
  /** Classes defined so far in this value, numbered in the order they were first met. */
  readonly classes = new Map<CodecClass, number>();
  readonly blobs: Uint8Array[] = [];

  constructor(private readonly lookup: ClassLookup) {}

  value(v: unknown): unknown {
    switch (typeof v) {
      case 'string':
        return v.charCodeAt(0) === TAG ? '\u0000s' + v : v;
      case 'number':
        if (v !== v) return '\u0000n';
        if (v === Infinity) return '\u0000i';
        if (v === -Infinity) return '\u0000I';
        if (v === 0 && 1 / v < 0) return '\u0000z';
        return v;
      case 'boolean':
        return v;
      case 'undefined':
        return '\u0000u';
      case 'bigint': {
        const text = bigintText(v);
        if (text === undefined) throw new ValuePathError(tooManyDigits(false));
        return '\u0000b' + text;
      }
      case 'object':
        return v === null ? null : this.object(v);
      case 'function':
        throw new ValuePathError(
          `it is a function${v.name ? ` (${v.name})` : ''}, which cannot be saved; save the data it works on instead`,
        );
      default:
        throw new ValuePathError(`it is a ${typeof v}, which cannot be saved`);
    }
  }

  private object(o: object): unknown {
    const known = this.seen.get(o);
    if (known !== undefined) return '\u0000r' + known;
    // Numbered in walk order; the decoder numbers the same objects in the same order.
    this.seen.set(o, this.seen.size);
    // No `finally`: an error abandons the whole encode, depth and all.
    if (++this.depth > MAX_DEPTH) throw tooDeep(false);
    const out = this.container(o);
    this.depth--;
    return out;
  }

  private container(o: object): unknown {
    if (Array.isArray(o)) return this.array(o);
    const proto: unknown = Object.getPrototypeOf(o);
    if (proto === OBJECT_PROTO) return this.plain(o as Record<string, unknown>);
    if (proto === null) return ['\u0000N', this.plain(o as Record<string, unknown>)];
    if (proto === Date.prototype) return '\u0000d' + (o as Date).getTime();
    if (proto === Map.prototype) return this.map(o as Map<unknown, unknown>);
    if (proto === Set.prototype) return this.set(o as Set<unknown>);
    if (o instanceof Uint8Array && (proto === Uint8Array.prototype || proto === Buffer.prototype)) {
      return (proto === Buffer.prototype ? '\u0000B' : '\u0000x') + this.blob(o);
    }
    return this.other(o, proto);
  }

  private array(a: unknown[]): unknown[] {
    const n = a.length;
    const out = new Array<unknown>(n);
    let i = 0;
    try {
      for (; i < n; i++) out[i] = this.value(a[i]);
    } catch (error) {
      throw rethrow(error, segment(i));
    }
    return out;
  }

  private plain(o: Record<string, unknown>): Record<string, unknown> {
    // Reserved names are refused below, so plain assignment here cannot reach a prototype.
    const out: Record<string, unknown> = {};
    const keys = Object.keys(o);
    let k = '';
    try {
      for (let i = 0; i < keys.length; i++) {
        k = keys[i];
        if (KEY_FORBIDDEN.has(k)) {
          throw new ValuePathError(
            `the property name '${k}' is reserved (restoring it could change an object's prototype); rename the property or use a Map`,
          );
        }
        out[k] = this.value(o[k]);
      }
    } catch (error) {
      throw rethrow(error, segment(k));
    }
    return out;
  }

  private map(m: Map<unknown, unknown>): unknown[] {
    const out: unknown[] = ['\u0000M'];
    let i = 0;
    try {
      for (const [k, v] of m) {
        out.push(this.value(k), this.value(v));
        i++;
      }
    } catch (error) {
      throw rethrow(error, `.<map entry ${i}>`);
    }
    return out;
  }

  private set(s: Set<unknown>): unknown[] {
    const out: unknown[] = ['\u0000S'];
    let i = 0;
    try {
      for (const v of s) {
        out.push(this.value(v));
        i++;
      }
    } catch (error) {
      throw rethrow(error, `.<set entry ${i}>`);
    }
    return out;
  }

  /**
   * A registered class instance: its field values in the class's field order. The first
   * instance of a class also carries the class's name, version and field names (`\0K`);
   * later ones refer to that definition by number (`\0O`), so a graph of a thousand
   * orders spells each field name once, not a thousand times.
   */
  private instance(o: object, binding: CodecClass): unknown[] {
    const save = binding.saveFields;
    const record = (save === undefined ? o : save(o)) as Record<string, unknown>;
    const names = binding.fieldNames;
    const n = names.length;
    let out: unknown[];
    let at: number;
    const defined = this.classes.get(binding);
    if (defined === undefined) {
      this.classes.set(binding, this.classes.size);
      out = new Array<unknown>(4 + n);
      out[0] = '\u0000K';
      out[1] = binding.name;
      out[2] = binding.storedVersion ?? binding.version;
      out[3] = names;
      at = 4;
    } else {
      out = new Array<unknown>(2 + n);
      out[0] = '\u0000O';
      out[1] = defined;
      at = 2;
    }
    let i = 0;
    try {
      for (; i < n; i++) out[at + i] = this.value(record[names[i]]);
    } catch (error) {
      throw rethrow(error, segment(names[i]));
    }
    return out;
  }

  private blob(bytes: Uint8Array): number {
    this.blobs.push(bytes);
    return this.blobs.length - 1;
  }

  private other(o: object, proto: unknown): unknown {
    if (ArrayBuffer.isView(o) && !(o instanceof DataView)) {
      const name = (proto as { constructor?: Function } | null)?.constructor?.name ?? '';
      if (name in BINARY_TYPES) {
        const view = new Uint8Array(o.buffer, o.byteOffset, o.byteLength);
        return `\u0000T${name}:${this.blob(view)}`;
      }
    }
    if (o instanceof ArrayBuffer && proto === ArrayBuffer.prototype) {
      return `\u0000TArrayBuffer:${this.blob(new Uint8Array(o))}`;
    }
    const ctor = (proto as { constructor?: Function } | null)?.constructor;
    if (typeof ctor === 'function') {
      const binding = this.lookup.byConstructor(ctor);
      if (binding !== undefined) return this.instance(o, binding);
      if (hasClassTransformerMetadata(ctor)) {
        // The plain form stands in for the instance: it takes the instance's number (already
        // assigned above) instead of a number of its own, so back-references still line up.
        const plain = toPlain(o);
        if (plain !== null && typeof plain === 'object' && !Array.isArray(plain)) {
          return this.plain(plain as Record<string, unknown>);
        }
        throw new ValuePathError(
          `class-transformer turned this ${ctor.name} into a ${typeof plain}, not an object`,
        );
      }
    }
    throw new ValuePathError(describeUnsupported(o, ctor));
  }
}

function describeUnsupported(o: object, ctor: Function | undefined): string {
  if (o instanceof Promise) return 'it is a Promise; await it and save the result';
  if (o instanceof WeakMap || o instanceof WeakSet || o instanceof WeakRef) {
    return `it is a ${ctor?.name ?? 'weak collection'}, whose entries cannot be enumerated; use a Map or Set`;
  }
  const name = ctor?.name || 'an anonymous class';
  if (ctor !== undefined && (globalThis as Record<string, unknown>)[name] === ctor) {
    return `it is a ${name}, which the codec does not store; convert it to a supported value (string, number, Date, Map, Set, Uint8Array, plain object, array)`;
  }
  return `it is an instance of ${name}, which is not registered; add @Checkpointable() to ${name} (and @CheckpointField() to the fields to save), or convert it to a plain object`;
}

/**
 * Adds `part` to the path of an error on its way out of the value. An error the value
 * itself threw (a getter, a Proxy trap, a class-transformer @Transform) becomes a
 * path error too, keeping the original as its cause; a CheckpointError (a misdeclared
 * class) keeps its own kind.
 */
function rethrow(error: unknown, part: string): unknown {
  if (error instanceof ValuePathError) return error.at(part);
  if (error instanceof CheckpointError) return error;
  if (error instanceof RangeError && /call stack/i.test(error.message)) {
    return new ValuePathError('the value is nested too deeply for the call stack').at(part);
  }
  return new ValuePathError(
    `reading it threw ${errorName(error)}${errorMessage(error)}; make the value readable (a getter or Proxy must not throw while it is saved), or save a plain copy`,
    error,
  ).at(part);
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

function errorMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text === '' ? '' : ` (${text.length > 200 ? text.slice(0, 200) + '…' : text})`;
}

/**
 * Encodes a value into the codec's bytes (layout in format.ts). The value is read
 * completely before this returns, so later changes to it never reach the bytes.
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
  return encodeValueWithClasses(value, context).bytes;
}

/** What {@link encodeValueWithClasses} produced. */
export interface EncodedValue {
  /** The codec's bytes, as {@link encodeValue} returns them. */
  readonly bytes: Buffer;
  /** The classes whose instances the value holds, in the order they were first met. */
  readonly classes: readonly CodecClass[];
}

/**
 * {@link encodeValue}, also reporting the classes whose instances the value holds: the
 * encoder numbers them anyway, and a checkpoint's manifest lists them.
 *
 * @throws {CheckpointError} `Serialize`, as {@link encodeValue}
 *
 * @example
 * ```ts
 * const { bytes, classes } = encodeValueWithClasses(order, { classes: metadataRegistry });
 * classes.map((c) => c.name); // ['Order', 'LineItem']
 * ```
 */
export function encodeValueWithClasses(value: unknown, context: CodecContext = {}): EncodedValue {
  const encoder = new Encoder(context.classes ?? NO_CLASSES);
  let tree: unknown;
  try {
    tree = encoder.value(value);
  } catch (error) {
    throw serializeError(rethrow(error, ''), context);
  }
  let json: string;
  try {
    json = JSON.stringify(tree) ?? 'null';
  } catch (error) {
    // The one thing JSON.stringify can refuse in the tree: text past the engine's longest string.
    throw serializeError(
      new ValuePathError(
        `its encoded text is longer than the longest string JavaScript can build (${errorName(error)}${errorMessage(error)}); save it in parts under several keys, or hold large text as a Buffer`,
        error,
      ),
      context,
    );
  }
  const jsonLength = Buffer.byteLength(json, 'utf8');
  let total = CODEC_HEADER_SIZE + jsonLength + 4;
  let largest = jsonLength;
  for (const blob of encoder.blobs) {
    total += 4 + blob.byteLength;
    if (blob.byteLength > largest) largest = blob.byteLength;
  }
  // Lengths are stored as unsigned 32-bit numbers, and the result is one Buffer.
  if (largest > MAX_PART_BYTES || total > constants.MAX_LENGTH) {
    throw serializeError(
      new ValuePathError(
        `it encodes to ${total} bytes, more than one stored value can hold (at most ${MAX_PART_BYTES} bytes of text or of one binary part, ${constants.MAX_LENGTH} in all); save it in parts under several keys`,
      ),
      context,
    );
  }
  const out = Buffer.allocUnsafe(total);
  CODEC_MAGIC.copy(out, 0);
  out[3] = CODEC_ID_TAGGED_JSON;
  out.writeUInt32LE(jsonLength, 4);
  out.write(json, CODEC_HEADER_SIZE, jsonLength, 'utf8');
  let offset = CODEC_HEADER_SIZE + jsonLength;
  out.writeUInt32LE(encoder.blobs.length, offset);
  offset += 4;
  for (const blob of encoder.blobs) {
    out.writeUInt32LE(blob.byteLength, offset);
    out.set(blob, offset + 4);
    offset += 4 + blob.byteLength;
  }
  return { bytes: out, classes: [...encoder.classes.keys()] };
}

function serializeError(error: unknown, context: CodecContext): unknown {
  if (!(error instanceof ValuePathError)) return error;
  const cause = error.cause;
  const root = context.key ?? 'value';
  const where =
    context.identifier !== undefined ? ` of checkpoint ${quote(context.identifier)}` : '';
  return new CheckpointError(
    'Serialize',
    `Cannot save ${root}${shortPath(error.path)}${context.key !== undefined ? ` (key ${quote(context.key)}${where})` : where}: ${error.problem}.`,
    { identifier: context.identifier, key: context.key, cause },
  );
}
