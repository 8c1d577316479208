import { inspect } from 'node:util';
import { StoredInstance, storedClassName } from './stored-classes';

/**
 * A decoded value as text for a person, with its types visible: `Date`, `Map(2)`,
 * `Set(1)`, `10n`, `<Buffer ...>` and class names (`Order { id: 42 }`). Long arrays,
 * strings and buffers are cut by util.inspect with a note of how much more there is.
 *
 * @example
 * ```ts
 * renderValue(new Map([['a', 1n]]), { depth: 10, colors: false }); // "Map(1) { 'a' => 1n }"
 * ```
 */
export function renderValue(value: unknown, options: { depth: number; colors: boolean }): string {
  return inspect(value, {
    depth: options.depth,
    colors: options.colors,
    maxArrayLength: 100,
    maxStringLength: 2000,
    breakLength: 100,
    compact: 3,
    getters: false,
    customInspect: false,
  });
}

/**
 * The most bytes of one binary value written as base64 in JSON output; longer values are
 * cut and marked `truncated: true`.
 * @example
 * ```ts
 * const shown = bytes.subarray(0, JSON_BINARY_LIMIT);
 * ```
 */
export const JSON_BINARY_LIMIT = 64 * 1024;

/**
 * A decoded value as JSON that keeps its types: what JSON cannot say is an object with
 * one `$` member (`{"$date": "2026-..."}`, `{"$bigint": "10"}`, `{"$map": [[k, v]]}`,
 * `{"$set": [...]}`, `{"$class": "Order", "fields": {...}}`, `{"$number": "NaN"}`,
 * `{"$undefined": true}`, `{"$binary": "Uint8Array", "length": n, "base64": ...}`), an
 * object seen before (shared or cyclic) is `{"$ref": "<path of its first place>"}`, and a
 * plain object with a key starting with `$` is wrapped as `{"$object": {...}}`.
 *
 * @example
 * ```ts
 * toJsonView(new Date(0)); // { $date: '1970-01-01T00:00:00.000Z' }
 * ```
 */
export function toJsonView(value: unknown): unknown {
  const seen = new Map<object, string>();
  const walk = (v: unknown, path: string): unknown => {
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return v;
      case 'number':
        if (Number.isNaN(v)) return { $number: 'NaN' };
        if (!Number.isFinite(v)) return { $number: v > 0 ? 'Infinity' : '-Infinity' };
        if (v === 0 && 1 / v < 0) return { $number: '-0' };
        return v;
      case 'bigint':
        return { $bigint: v.toString() };
      case 'undefined':
        return { $undefined: true };
      case 'object':
        break;
      default:
        return { $unknown: typeof v };
    }
    if (v === null) return null;
    const first = seen.get(v);
    if (first !== undefined) return { $ref: first };
    seen.set(v, path);
    if (v instanceof Date) {
      return { $date: Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString() };
    }
    if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) {
      const bytes =
        v instanceof ArrayBuffer
          ? new Uint8Array(v)
          : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
      const shown = bytes.subarray(0, JSON_BINARY_LIMIT);
      return {
        $binary: Buffer.isBuffer(v) ? 'Buffer' : v.constructor.name,
        length: bytes.byteLength,
        base64: Buffer.from(shown.buffer, shown.byteOffset, shown.byteLength).toString('base64'),
        ...(shown.byteLength < bytes.byteLength ? { truncated: true } : {}),
      };
    }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, `${path}[${i}]`));
    if (v instanceof Map) {
      return {
        $map: [...v].map(([k, x], i) => [
          walk(k, `${path}<key ${i}>`),
          walk(x, `${path}<value ${i}>`),
        ]),
      };
    }
    if (v instanceof Set) return { $set: [...v].map((x, i) => walk(x, `${path}<entry ${i}>`)) };
    const fields: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      Object.defineProperty(fields, k, {
        value: walk(
          x,
          `${path}${/^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`}`,
        ),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    if (v instanceof StoredInstance) return { $class: storedClassName(v), fields };
    return Object.keys(fields).some((k) => k.startsWith('$')) ? { $object: fields } : fields;
  };
  return walk(value, '$');
}
