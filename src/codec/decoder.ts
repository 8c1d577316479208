import { CheckpointError, quote } from '../errors';
import { NO_CLASSES, type ClassLookup, type CodecClass } from './codec-class';
import { describeValue } from './describe-value';
import type { CodecContext } from './encoder';
import { MAX_BIGINT_DIGITS, tooManyDigits } from './bigint-limit';
import { BINARY_TYPES, CODEC_HEADER_SIZE, CODEC_ID_TAGGED_JSON, CODEC_MAGIC, TAG } from './format';
import { nestsDeeperThan, SCAN_MIN_BYTES } from './nesting-scan';
import { MAX_DEPTH, segment, shortPath, tooDeep, ValuePathError } from './value-path';

const hasOwn = Object.prototype.hasOwnProperty;
/** The smallest blob returned as a view of owned input (Node pools buffers below 4 KiB). */
const SHARE_MIN_BYTES = 64 * 1024;
const RESERVED = new Set(['__proto__', 'constructor', 'prototype']);

/** A class as one stored value defines it, resolved against the code's registry once. */
interface StoredClass {
  readonly binding: CodecClass;
  readonly version: number;
  /** The stored versions of its parent classes, when the data names them. */
  readonly baseVersions: ReadonlyMap<string, number> | undefined;
  readonly fieldNames: readonly string[];
  /** Stored exactly as the code defines it now: fields can be assigned as they are read. */
  readonly direct: boolean;
}

const BYTES_PER_ELEMENT: Record<string, number> = {
  Int16Array: 2,
  Uint16Array: 2,
  Int32Array: 4,
  Uint32Array: 4,
  Float32Array: 4,
  Float64Array: 8,
  BigInt64Array: 8,
  BigUint64Array: 8,
};

/**
 * Revives the tree JSON.parse returned, in place: tags become values, references become
 * the objects they name. Stored bytes may have been tampered with, so every tag is checked
 * and anything unexpected is an error, never a guess.
 */
class Decoder {
  private readonly objects: unknown[] = [];
  private depth = 0;
  /** When set, the root instance is this object instead of a new one (`restoreInto`). */
  private into: object | undefined;
  /** Class definitions met so far, by number. */
  private readonly classes: StoredClass[] = [];
  /**
   * Which blobs a tag has already used. The encoder writes one blob per binary object
   * (a second use of the same object is a back-reference), so a blob used twice is
   * tampering, and refusing it keeps a small input from being copied into gigabytes.
   */
  private readonly blobUsed: Uint8Array;

  constructor(
    private readonly blobs: Uint8Array[],
    into: object | undefined,
    /** Bytes of the whole input when the caller handed them over (`owned`), else undefined. */
    private readonly ownedInput: number | undefined,
    /** The classes stored instances may be restored as. */
    private readonly lookup: ClassLookup,
  ) {
    this.into = into;
    this.blobUsed = new Uint8Array(blobs.length);
  }

  /**
   * Whether a blob may be returned as a view of the input instead of a copy: only when the
   * caller gave the input away, and the blob is large (never in Node's shared small-buffer
   * pool) and most of the input (so the view keeps little else alive). A 100 MB Buffer
   * read back then costs one 100 MB read, not two.
   */
  private canShare(bytes: Uint8Array): boolean {
    const total = this.ownedInput;
    return (
      total !== undefined && bytes.byteLength >= SHARE_MIN_BYTES && bytes.byteLength * 2 >= total
    );
  }

  /**
   * A new, empty instance of `binding`'s class — or, for the root value of a decode
   * `into` an existing object, that object, once its class is checked.
   */
  private create(binding: CodecClass): object {
    const into = this.into;
    if (into === undefined || this.objects.length > 0) return binding.instantiate();
    this.into = undefined;
    if (binding.ctor !== into.constructor) throw new RootMismatch(`a ${binding.name}`);
    return into;
  }

  value(v: unknown): unknown {
    if (typeof v === 'string') return v.charCodeAt(0) === TAG ? this.tag(v) : v;
    if (typeof v !== 'object' || v === null) return v;
    // No `finally`: an error abandons the whole decode, depth and all.
    if (++this.depth > MAX_DEPTH) throw tooDeep(true);
    const out = Array.isArray(v) ? this.array(v) : this.plain(v as Record<string, unknown>);
    this.depth--;
    return out;
  }

  private array(a: unknown[]): unknown {
    // Only these six mark a tagged array. Other two-character tags ("\0u", "\0n", ...)
    // are ordinary first elements: [undefined, 1] is stored as ["\0u", 1].
    const first = a[0];
    if (
      first === '\u0000M' ||
      first === '\u0000S' ||
      first === '\u0000K' ||
      first === '\u0000O' ||
      first === '\u0000C' ||
      first === '\u0000N'
    ) {
      return this.taggedArray(first, a);
    }
    this.objects.push(a);
    let i = 0;
    try {
      for (; i < a.length; i++) {
        const x = a[i];
        if (typeof x === 'object' ? x !== null : typeof x === 'string' && x.charCodeAt(0) === TAG) {
          a[i] = this.value(x);
        }
      }
    } catch (error) {
      throw rethrow(error, segment(i));
    }
    return a;
  }

  plain(o: Record<string, unknown>, numbered = false): Record<string, unknown> {
    if (!numbered) this.objects.push(o);
    let k = '';
    try {
      for (k in o) {
        if (RESERVED.has(k)) {
          throw new ValuePathError(`the stored data contains the reserved property name '${k}'`);
        }
        const x = o[k];
        if (typeof x === 'object' ? x !== null : typeof x === 'string' && x.charCodeAt(0) === TAG) {
          o[k] = this.value(x);
        }
      }
    } catch (error) {
      throw rethrow(error, segment(k));
    }
    return o;
  }

  private tag(s: string): unknown {
    const rest = s.slice(2);
    switch (s.charAt(1)) {
      case 's':
        return rest;
      case 'u':
        return undefined;
      case 'n':
        return NaN;
      case 'i':
        return Infinity;
      case 'I':
        return -Infinity;
      case 'z':
        return -0;
      case 'b':
        // Checked before the pattern and BigInt(), whose cost grows with the length.
        if (rest.length > MAX_BIGINT_DIGITS + 1) throw new ValuePathError(tooManyDigits(true));
        if (!/^-?\d+$/.test(rest)) break;
        if (rest.length - (rest.charCodeAt(0) === 0x2d ? 1 : 0) > MAX_BIGINT_DIGITS) {
          throw new ValuePathError(tooManyDigits(true));
        }
        return BigInt(rest);
      case 'd': {
        if (rest !== 'NaN' && !/^-?\d+$/.test(rest)) break;
        const date = new Date(Number(rest));
        this.objects.push(date);
        return date;
      }
      case 'r': {
        const index = Number(rest);
        if (!Number.isInteger(index) || index < 0 || index >= this.objects.length) break;
        return this.objects[index];
      }
      case 'x':
      case 'B': {
        const bytes = this.blob(rest);
        const out = this.canShare(bytes)
          ? s.charAt(1) === 'B'
            ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
            : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
          : s.charAt(1) === 'B'
            ? Buffer.from(bytes)
            : new Uint8Array(bytes);
        this.objects.push(out);
        return out;
      }
      case 'T': {
        const colon = rest.indexOf(':');
        const name = rest.slice(0, colon);
        if (colon < 0 || !hasOwn.call(BINARY_TYPES, name)) break;
        const bytes = this.blob(rest.slice(colon + 1));
        // Tampered data may hold a blob that is not a whole number of elements.
        const width = BYTES_PER_ELEMENT[name] ?? 1;
        if (bytes.byteLength % width !== 0) {
          throw new ValuePathError(
            `a stored ${name} has ${bytes.byteLength} bytes, not a multiple of ${width}`,
          );
        }
        const out = BINARY_TYPES[name](bytes);
        this.objects.push(out);
        return out;
      }
    }
    throw new ValuePathError(`the stored tag ${JSON.stringify(s.slice(0, 24))} is not valid`);
  }

  private blob(indexText: string): Uint8Array {
    const index = Number(indexText);
    const bytes = /^\d+$/.test(indexText) ? this.blobs[index] : undefined;
    if (bytes === undefined)
      throw new ValuePathError(`binary blob ${JSON.stringify(indexText.slice(0, 24))} is missing`);
    if (this.blobUsed[index] !== 0) {
      throw new ValuePathError(
        `binary blob ${index} is used twice, which the codec never writes (a second use of the same object is a reference); the data is damaged`,
      );
    }
    this.blobUsed[index] = 1;
    return bytes;
  }

  private taggedArray(tag: string, a: unknown[]): unknown {
    switch (tag.charAt(1)) {
      case 'M': {
        if (a.length % 2 !== 1) break;
        const map = new Map<unknown, unknown>();
        this.objects.push(map);
        let i = 1;
        try {
          for (; i < a.length; i += 2) map.set(this.value(a[i]), this.value(a[i + 1]));
        } catch (error) {
          throw rethrow(error, `.<map entry ${(i - 1) / 2}>`);
        }
        return map;
      }
      case 'S': {
        const set = new Set<unknown>();
        this.objects.push(set);
        let i = 1;
        try {
          for (; i < a.length; i++) set.add(this.value(a[i]));
        } catch (error) {
          throw rethrow(error, `.<set entry ${i - 1}>`);
        }
        return set;
      }
      case 'N': {
        const o = a[1];
        if (a.length !== 2 || o === null || typeof o !== 'object' || Array.isArray(o)) break;
        Object.setPrototypeOf(o, null);
        return this.plain(o as Record<string, unknown>);
      }
      case 'K':
        return this.defineAndInstantiate(a);
      case 'O':
        return this.instanceOf(a);
      case 'C':
        return this.instance(a);
    }
    throw new ValuePathError(`the stored tag ${JSON.stringify(tag)} is not valid`);
  }

  /** `["\0K", name, version, [fields], ...values]`: defines the next class number, and an instance. */
  private defineAndInstantiate(a: unknown[]): object {
    const [, name, version, fields] = a;
    if (
      typeof name !== 'string' ||
      !Array.isArray(fields) ||
      !fields.every((f) => typeof f === 'string' && !RESERVED.has(f)) ||
      a.length !== 4 + fields.length
    ) {
      throw new ValuePathError('a stored class definition is malformed');
    }
    const { own, bases } = storedVersions(name, version);
    const binding = this.binding(name, own);
    const fieldNames = fields as string[];
    const stored: StoredClass = {
      binding,
      version: own,
      baseVersions: bases,
      fieldNames,
      direct:
        own === binding.version &&
        basesCurrent(binding, bases) &&
        binding.restoreFields === undefined &&
        fieldNames.length === binding.fieldNames.length &&
        fieldNames.every((f, i) => f === binding.fieldNames[i]),
    };
    this.classes.push(stored);
    return this.fill(stored, a, 4);
  }

  /** `["\0O", classNumber, ...values]`: an instance of a class defined earlier in this value. */
  private instanceOf(a: unknown[]): object {
    const index = a[1];
    const stored = typeof index === 'number' ? this.classes[index] : undefined;
    if (stored === undefined || a.length !== 2 + stored.fieldNames.length) {
      throw new ValuePathError('a stored class instance refers to a class that is not defined');
    }
    return this.fill(stored, a, 2);
  }

  /** Builds an instance from field values stored in `a` from index `at`, in stored field order. */
  private fill(stored: StoredClass, a: unknown[], at: number): object {
    const { binding, fieldNames } = stored;
    const instance = this.numberedInstance(binding);
    const n = fieldNames.length;
    let i = 0;
    try {
      if (stored.direct) {
        // Same version, same fields as the code: no data object, no migration.
        const target = instance as Record<string, unknown>;
        for (; i < n; i++) target[fieldNames[i]] = this.value(a[at + i]);
        return instance;
      }
      const data: Record<string, unknown> = {};
      for (; i < n; i++) data[fieldNames[i]] = this.value(a[at + i]);
      return assignFields(instance, binding, stored.version, stored.baseVersions, data);
    } catch (error) {
      throw i < n ? rethrow(error, segment(fieldNames[i])) : error;
    }
  }

  /** The registered class for a stored name and version, or an error saying what to do. */
  private binding(name: string, version: number): CodecClass {
    const binding = this.lookup.byName(name);
    if (binding === undefined) {
      throw new ValuePathError(
        `the stored class ${JSON.stringify(name)} is not registered in this process; import the module that declares @Checkpointable({ name: ${JSON.stringify(name)} }) before restoring`,
      );
    }
    if (version > binding.version) {
      throw new CheckpointError(
        'Version',
        `Stored ${name} has version ${version}, but this code knows versions up to ${binding.version}; deploy the newer code that wrote it, or restore with it.`,
      );
    }
    return binding;
  }

  /** `["\0C", name, version, {fields}]`: a self-describing instance, with its field names. */
  private instance(a: unknown[]): object {
    const [, name, version, fields] = a;
    if (
      a.length !== 4 ||
      typeof name !== 'string' ||
      fields === null ||
      typeof fields !== 'object' ||
      Array.isArray(fields)
    ) {
      throw new ValuePathError('a stored class instance is malformed');
    }
    const { own, bases } = storedVersions(name, version);
    const binding = this.binding(name, own);
    const instance = this.numberedInstance(binding);
    const data = this.plain(fields as Record<string, unknown>, true);
    return assignFields(instance, binding, own, bases, data);
  }

  /** A new instance, numbered before its fields are revived so a field may refer back to it. */
  private numberedInstance(binding: CodecClass): object {
    const instance = this.create(binding);
    this.objects.push(instance);
    return instance;
  }
}

/**
 * A stored class version: a whole number from 1, or `[version, parentName, parentVersion,
 * ...]` for a class with registered parents (format.ts).
 */
function storedVersions(
  name: string,
  slot: unknown,
): { own: number; bases: Map<string, number> | undefined } {
  if (isVersion(slot)) return { own: slot, bases: undefined };
  if (Array.isArray(slot) && slot.length % 2 === 1 && isVersion(slot[0])) {
    const bases = new Map<string, number>();
    for (let i = 1; i < slot.length; i += 2) {
      const base: unknown = slot[i];
      const version: unknown = slot[i + 1];
      if (typeof base !== 'string' || !isVersion(version) || bases.has(base)) {
        bases.clear();
        break;
      }
      bases.set(base, version);
    }
    if (bases.size === (slot.length - 1) / 2) return { own: slot[0], bases };
  }
  const shown = JSON.stringify(slot) ?? String(slot);
  throw new ValuePathError(
    `the stored class ${JSON.stringify(name.length > 80 ? name.slice(0, 80) + '…' : name)} has the version ${shown.length > 40 ? shown.slice(0, 40) + '…' : shown}, which no code writes (versions are whole numbers from 1); the data is damaged`,
  );
}

function isVersion(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 1;
}

/** Whether stored parent versions (if any) are the ones the code writes now. */
function basesCurrent(binding: CodecClass, stored: ReadonlyMap<string, number> | undefined) {
  if (stored === undefined || binding.bases === undefined) return true;
  return binding.bases.every((b) => (stored.get(b.name) ?? b.version) === b.version);
}

/**
 * Brings field values stored at `fromVersion` up to the code's version (checking that
 * every stored field is declared or declared dropped), applies the class's restore hooks,
 * and assigns the fields the class declares.
 */
function assignFields(
  instance: object,
  binding: CodecClass,
  fromVersion: number,
  fromBaseVersions: ReadonlyMap<string, number> | undefined,
  stored: Record<string, unknown>,
): object {
  let data = binding.upgrade(stored, fromVersion, fromBaseVersions);
  if (binding.restoreFields !== undefined) data = binding.restoreFields(data);
  const target = instance as Record<string, unknown>;
  for (const f of binding.fieldNames) {
    if (hasOwn.call(data, f)) target[f] = data[f];
  }
  return instance;
}

/** The root of the stored value is not an instance of the class asked for. */
class RootMismatch extends Error {
  constructor(readonly stored: string) {
    super(stored);
  }
}

/** Options of {@link decodeValue}. */
export interface DecodeOptions {
  /**
   * An existing instance of a registered class to restore into: the stored root instance's
   * fields are assigned to it, and references back to the root land on it.
   */
  into?: object;
  /** The message when the stored root is not an instance of `into`'s class; given e.g. `a Customer`. */
  mismatch?: (stored: string) => string;
  /**
   * The caller gives `bytes` away and never reads or changes them again (a buffer just read
   * from storage): a large Uint8Array or Buffer may then come back as a view of them
   * instead of a copy.
   */
  owned?: boolean;
}

/**
 * Adds `part` to the path of an error on its way out of the value. An error raised by
 * the application's own code while restoring (a class-transformer `@Transform`) becomes a
 * path error too, keeping the original as its cause; CheckpointErrors keep their kind.
 */
function rethrow(error: unknown, part: string): unknown {
  if (error instanceof ValuePathError) return error.at(part);
  if (error instanceof CheckpointError || error instanceof RootMismatch) return error;
  if (error instanceof RangeError && /call stack/i.test(error.message)) {
    return new ValuePathError('the stored value is nested too deeply for the call stack').at(part);
  }
  const text = error instanceof Error ? error.message : String(error);
  return new ValuePathError(
    `restoring it threw ${error instanceof Error ? error.name : typeof error}${text === '' ? '' : ` (${text.length > 200 ? text.slice(0, 200) + '…' : text})`}; the application's restore code (a class-transformer @Transform) failed on the stored data: fix that code, or restore with the code that wrote it`,
    error,
  ).at(part);
}

/**
 * Decodes bytes written by {@link encodeValue}.
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
  const buf = Buffer.isBuffer(bytes)
    ? bytes
    : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (problem: string, cause?: unknown) => deserializeError(problem, context, cause);
  if (buf.length < CODEC_HEADER_SIZE + 4 || !CODEC_MAGIC.equals(buf.subarray(0, 3))) {
    throw fail(
      'the bytes are not checkpointable codec data (no "CPV" header); they may have been written through a different wrapper chain or by another program',
    );
  }
  if (buf[3] !== CODEC_ID_TAGGED_JSON) {
    throw fail(
      `codec id ${buf[3]} is unknown to this version of checkpointable; upgrade to read it`,
    );
  }
  const jsonLength = buf.readUInt32LE(4);
  let offset = CODEC_HEADER_SIZE + jsonLength;
  if (offset + 4 > buf.length) throw fail('the bytes are truncated');
  // A value level can take two levels of text (a null-prototype object is an array around
  // an object), and a class definition's field-name list one more; text deeper than that
  // holds a value deeper than the limit. The decoder applies the exact limit while reviving.
  if (
    jsonLength >= SCAN_MIN_BYTES &&
    nestsDeeperThan(buf, CODEC_HEADER_SIZE, offset, 2 * MAX_DEPTH + 1)
  ) {
    throw fail(`${context.key ?? 'value'}: ${tooDeep(true).problem}`);
  }
  const blobCount = buf.readUInt32LE(offset);
  offset += 4;
  const blobs: Uint8Array[] = [];
  for (let i = 0; i < blobCount; i++) {
    if (offset + 4 > buf.length) throw fail('the bytes are truncated');
    const length = buf.readUInt32LE(offset);
    offset += 4;
    if (offset + length > buf.length) throw fail('the bytes are truncated');
    blobs.push(buf.subarray(offset, offset + length));
    offset += length;
  }
  if (offset !== buf.length) throw fail('there are unexpected bytes after the value');
  let tree: unknown;
  try {
    tree = JSON.parse(buf.toString('utf8', CODEC_HEADER_SIZE, CODEC_HEADER_SIZE + jsonLength));
  } catch (error) {
    throw fail('the JSON text is damaged', error);
  }
  const { into } = options;
  const rootMismatch = (stored: string) =>
    new CheckpointError(
      'Deserialize',
      options.mismatch?.(stored) ??
        `Cannot restore ${context.key !== undefined ? `key ${quote(context.key)}` : 'the value'} into the given ${into?.constructor.name}: it holds ${stored}.`,
      { identifier: context.identifier, key: context.key },
    );
  try {
    const value = new Decoder(
      blobs,
      into,
      options.owned ? buf.byteLength : undefined,
      context.classes ?? NO_CLASSES,
    ).value(tree);
    if (into !== undefined && value !== into) throw new RootMismatch(describeValue(value));
    return value;
  } catch (error) {
    if (error instanceof RootMismatch) throw rootMismatch(error.stored);
    if (error instanceof ValuePathError) {
      throw fail(
        `${context.key ?? 'value'}${shortPath(error.path)}: ${error.problem}`,
        error.cause,
      );
    }
    if (error instanceof CheckpointError) {
      throw new CheckpointError(error.kind, withContext(error.message, context), {
        identifier: context.identifier,
        key: context.key,
        cause: error,
      });
    }
    const wrapped = rethrow(error, '') as ValuePathError;
    throw fail(`${context.key ?? 'value'}: ${wrapped.problem}`, error);
  }
}

function withContext(message: string, context: CodecContext): string {
  if (context.key === undefined) return message;
  const where =
    context.identifier !== undefined ? ` of checkpoint ${quote(context.identifier)}` : '';
  return `Key ${quote(context.key)}${where}: ${message}`;
}

function deserializeError(
  problem: string,
  context: CodecContext,
  cause?: unknown,
): CheckpointError {
  const where =
    context.key !== undefined
      ? `key ${quote(context.key)}${context.identifier !== undefined ? ` of checkpoint ${quote(context.identifier)}` : ''}`
      : 'the value';
  return new CheckpointError('Deserialize', `Cannot restore ${where}: ${problem}.`, {
    identifier: context.identifier,
    key: context.key,
    cause,
  });
}
