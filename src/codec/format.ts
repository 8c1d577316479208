/**
 * The codec's byte layout, version 1 ("tagged JSON with a blob table").
 *
 * ```
 * offset  size  field
 * 0       3     magic "CPV" (0x43 0x50 0x56)
 * 3       1     codec id: 1
 * 4       4     J = byte length of the JSON text, unsigned 32-bit little-endian
 * 8       J     the value tree as UTF-8 JSON (see below)
 * 8+J     4     N = number of blobs, u32 LE
 * ...           N times: u32 LE length L, then L bytes   (Uint8Array, Buffer, ... contents)
 * ```
 *
 * The JSON tree is the value itself wherever JSON can say it exactly. Everything else is
 * a string that starts with NUL (U+0000) followed by a one-letter tag, or an array whose
 * first element is such a two-character tag:
 *
 * | written as        | means                                             |
 * |-------------------|---------------------------------------------------|
 * | `"\0s…"`          | a string that itself starts with NUL (escaped)    |
 * | `"\0u"`           | undefined                                         |
 * | `"\0n"` `"\0i"` `"\0I"` `"\0z"` | NaN, Infinity, -Infinity, -0        |
 * | `"\0b123"`        | the bigint 123n (at most 1,000,000 digits)        |
 * | `"\0d1700000000000"` | a Date with that epoch time (`"\0dNaN"`: invalid) |
 * | `"\0r7"`          | the 8th object already seen (shared reference or cycle) |
 * | `"\0x3"`, `"\0B3"` | a Uint8Array / Buffer holding blob 3             |
 * | `"\0TFloat64Array:3"` | another typed array or ArrayBuffer over blob 3 |
 * | `["\0M", k1, v1, …]` | a Map                                          |
 * | `["\0N", {…}]`    | a plain object without a prototype (`Object.create(null)`) |
 * | `["\0S", v1, …]`  | a Set                                             |
 * | `["\0K", name, version, [fieldNames], v1, …]` | defines class number k (numbered in walk order, from 0) and is its first instance: the field values in `fieldNames` order |
 * | `["\0O", k, v1, …]` | a later instance of class number k: field values only |
 * | `["\0C", name, version, {fields}]` | an instance with its field names (read, not written) |
 *
 * A class's `version` is a whole number from 1, or, for a class with `@Checkpointable`
 * parent classes, `[version, parentName, parentVersion, …]` (root parent first), so that
 * restoring runs each parent's migrations too. Data without parent versions (written
 * before they were stored) is taken to be at the parents' current versions.
 *
 * Spelling each class out once per value keeps a graph of a thousand instances from
 * repeating a thousand times every field name, which JSON.stringify and JSON.parse would
 * otherwise spend most of their time on.
 *
 * Each blob is named by exactly one tag: the encoder stores one blob per binary object, and
 * a second use of the same object is a reference. Readers refuse a blob named twice, so
 * decoding never copies more binary bytes than the input holds. Values nest at most 1,000
 * levels, so the JSON text at most 2,001 (a null-prototype object takes two, a class
 * definition's field names one more); readers scan the text for its depth before parsing.
 *
 * Objects (plain objects, arrays, Maps, Sets, Dates, typed arrays, class instances) are
 * numbered in the order the tree is walked, depth first, parent before children; a
 * reference names that number. A later codec takes a new codec id; readers reject ids
 * they do not know instead of guessing.
 */

/** "CPV": CheckPoint Value. */
export const CODEC_MAGIC = Buffer.from('CPV', 'latin1');
/** The codec id this version writes. */
export const CODEC_ID_TAGGED_JSON = 1;
/** Header bytes before the JSON text. */
export const CODEC_HEADER_SIZE = 8;

/** Tag prefix character code (NUL). */
export const TAG = 0;

/** The typed arrays (and ArrayBuffer) the codec can store, by constructor name. */
export const BINARY_TYPES: Record<string, (bytes: Uint8Array) => object> = {
  Int8Array: (b) => new Int8Array(copyBuffer(b)),
  Uint8ClampedArray: (b) => new Uint8ClampedArray(copyBuffer(b)),
  Int16Array: (b) => new Int16Array(copyBuffer(b)),
  Uint16Array: (b) => new Uint16Array(copyBuffer(b)),
  Int32Array: (b) => new Int32Array(copyBuffer(b)),
  Uint32Array: (b) => new Uint32Array(copyBuffer(b)),
  Float32Array: (b) => new Float32Array(copyBuffer(b)),
  Float64Array: (b) => new Float64Array(copyBuffer(b)),
  BigInt64Array: (b) => new BigInt64Array(copyBuffer(b)),
  BigUint64Array: (b) => new BigUint64Array(copyBuffer(b)),
  ArrayBuffer: (b) => copyBuffer(b),
};

/** A fresh, aligned ArrayBuffer holding a copy of `bytes`. */
function copyBuffer(bytes: Uint8Array): ArrayBuffer {
  const out = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(out).set(bytes);
  return out;
}
