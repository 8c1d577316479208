/**
 * Paths to values inside a saved value, for error messages: `order.items[3].callback`.
 * Built only when an error unwinds (each level prepends its segment), so the happy path
 * pays nothing for them.
 */

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** The segment for an object property or array index. */
export function segment(key: string | number): string {
  if (typeof key === 'number') return `[${key}]`;
  return IDENTIFIER.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/** An error raised deep inside a value, collecting the path as it unwinds. */
export class ValuePathError extends Error {
  path = '';
  /** `cause`: the error the value itself threw, when there is one. */
  constructor(
    readonly problem: string,
    cause?: unknown,
  ) {
    super(problem, cause === undefined ? undefined : { cause });
  }
  /** Prepends a segment; returns this for rethrowing. */
  at(part: string): this {
    this.path = part + this.path;
    return this;
  }
}

/**
 * How deep a value may nest, in objects, arrays, Maps, Sets and class instances. The
 * codec walks values recursively; an explicit limit turns a too-deep value into a clean
 * `Serialize` / `Deserialize` error long before the call stack runs out (about 2,000
 * levels fit in a test worker's stack; 1,000 leaves room for the caller's own frames).
 */
export const MAX_DEPTH = 1000;

/** The error for a value nested deeper than {@link MAX_DEPTH}. */
export function tooDeep(stored: boolean): ValuePathError {
  return new ValuePathError(
    stored
      ? `the stored value is nested more than ${MAX_DEPTH} levels deep`
      : `it is nested more than ${MAX_DEPTH} levels deep; flatten the structure or save it under several keys`,
  );
}

/** A path short enough for a message: very deep paths keep their start and end. */
export function shortPath(path: string): string {
  return path.length <= 160 ? path : `${path.slice(0, 80)}…${path.slice(-60)}`;
}
