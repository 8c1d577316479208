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
  constructor(readonly problem: string) {
    super(problem);
  }
  /** Prepends a segment; returns this for rethrowing. */
  at(part: string): this {
    this.path = part + this.path;
    return this;
  }
}
