import { CheckpointError, quote } from '../errors';

/** The longest identifier or key accepted, in UTF-16 code units (JavaScript string length). */
export const MAX_NAME_LENGTH = 255;

/**
 * Control characters (C0, DEL and C1) and both path separators. Identifiers become file
 * names, Redis keys and SQL values, so the grammar excludes everything that is a path
 * separator or invisible on one of them.
 */
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f/\\]/;

/**
 * A UTF-16 surrogate that is not half of a pair. Names are stored as UTF-8 by files,
 * PostgreSQL and Redis, which cannot hold a lone surrogate: `k\uD800` and `k\uDFFF` would
 * both become `k\uFFFD` and collapse into one name. The grammar is defined on well-formed
 * strings so that every backend stores every valid name exactly.
 */
const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * The one place where checkpoint identifiers and keys are checked. Every storage and
 * wrapper calls it before any I/O, so the grammar is the same for every backend:
 * 1 to 255 characters, no `/`, `\`, NUL or other control characters, not `.` or `..`,
 * and well-formed UTF-16 (no lone surrogate).
 *
 * @param what whether `name` is an identifier or a key (for the message)
 * @param name the value to check
 * @param identifier for a key, the checkpoint it belongs to (for the message)
 * @throws {CheckpointError} `InvalidIdentifier` naming the value and the rule it broke
 *
 * @example
 * ```ts
 * assertValidName('identifier', 'order-42'); // passes
 * assertValidName('key', '../x', 'order-42'); // throws InvalidIdentifier
 * ```
 */
export function assertValidName(
  what: 'identifier' | 'key',
  name: unknown,
  identifier?: string,
): asserts name is string {
  const problem = nameProblem(name);
  if (problem === undefined) return;
  const shown = typeof name === 'string' ? quote(name) : String(name);
  const where =
    what === 'key' && identifier !== undefined ? ` in checkpoint ${quote(identifier)}` : '';
  throw new CheckpointError(
    'InvalidIdentifier',
    `Invalid checkpoint ${what} ${shown}${where}: ${problem}. ` +
      `Use 1 to ${MAX_NAME_LENGTH} characters without '/', '\\', control characters or lone surrogates, other than '.' and '..'.`,
    what === 'key'
      ? { identifier, key: typeof name === 'string' ? name : undefined }
      : { identifier: typeof name === 'string' ? name : undefined },
  );
}

/** Returns why `name` is not a valid identifier or key, or undefined when it is. */
export function nameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return `it is a ${typeof name}, not a string`;
  if (name.length === 0) return 'it is empty';
  if (name.length > MAX_NAME_LENGTH) return `it is ${name.length} characters long`;
  if (name === '.' || name === '..') return 'it is a relative path';
  const bad = FORBIDDEN.exec(name);
  if (bad !== null) {
    const char = bad[0];
    const what =
      char === '/' || char === '\\'
        ? `'${char}'`
        : `the control character U+${char.charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()}`;
    return `it contains ${what} at position ${bad.index}`;
  }
  const lone = LONE_SURROGATE.exec(name);
  if (lone !== null) {
    const unit = lone[0].charCodeAt(0).toString(16).toUpperCase();
    return `it contains the lone surrogate U+${unit} at position ${lone.index}, which no storage can keep as text`;
  }
  return undefined;
}

/**
 * The one ordering of identifiers and keys used by every backend: JavaScript's default
 * string order (UTF-16 code units). Backends sort in JavaScript rather than in SQL or
 * Redis so that `checkpointIdentifiers()` and `keys()` agree across backends.
 */
export function sortNames(names: string[]): string[] {
  return names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
