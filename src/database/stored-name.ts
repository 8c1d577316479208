/**
 * How identifiers and keys are written into PostgreSQL `text` columns and Redis keys.
 *
 * Both media store text as UTF-8, which cannot hold a lone UTF-16 surrogate: written
 * as-is, `'a\uD800'` would come back as `'a\uFFFD'` and two different identifiers could
 * collide. The grammar (src/storage/names.ts) forbids control characters, so one of them
 * can serve as an escape without ever clashing with a valid name:
 * - a well-formed name is stored unchanged (readable in psql and redis-cli);
 * - a name with lone surrogates has each one replaced by U+0001 and four hex digits.
 * A stored name containing U+0001 therefore always came from an escaped name, and the
 * mapping is reversible and injective.
 *
 * It lives here rather than in src/storage/ only because of file ownership; the Redis
 * storage imports it too (it loads no driver).
 */

import { nameProblem } from '../storage/names';

const ESCAPE = '\u0001';
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
// eslint-disable-next-line no-control-regex -- U+0001 is the escape, chosen because names never contain it
const ESCAPED = /\u0001([0-9a-f]{4})/g;

/**
 * The form of a (valid) identifier or key as written to the database.
 *
 * @example
 * ```ts
 * storedName('order-42'); // 'order-42'
 * storedName('a\uD800'); // 'a\u0001d800'
 * ```
 */
export function storedName(name: string): string {
  return name.replace(LONE_SURROGATE, (s) => ESCAPE + s.charCodeAt(0).toString(16));
}

/**
 * The identifier or key behind a stored name; the inverse of {@link storedName}.
 *
 * @example
 * ```ts
 * nameFromStored('a\u0001d800'); // 'a\uD800'
 * ```
 */
export function nameFromStored(stored: string): string {
  if (!stored.includes(ESCAPE)) return stored;
  return stored.replace(ESCAPED, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/**
 * The longest stored form of a valid name: 255 UTF-16 units, each lone surrogate among
 * them written as five characters. Anything longer read back is damaged, so readers cut
 * stored names at this length (plus one, to see that they were longer) before they
 * reach JavaScript, where a tampered name of a gigabyte would not fit in a string.
 */
export const MAX_STORED_NAME = 255 * 5;

/**
 * A name read back from the medium: the identifier or key it stands for, or why it
 * stands for none. Rows and keys come from outside this process (another release, a
 * script, a tampered database), so they are checked like a caller's names: the grammar
 * (`nameProblem`), and the stored form must be the one {@link storedName} writes, so
 * two stored forms never claim one name.
 *
 * @example
 * ```ts
 * readStoredName('order-42'); // { name: 'order-42' }
 * readStoredName('../x'); // { problem: "it contains '/' at position 2" }
 * ```
 */
export function readStoredName(stored: string): { name: string } | { problem: string } {
  if (!stored.includes(ESCAPE)) {
    // Text read from UTF-8 holds no lone surrogate, so the stored form is the name.
    const problem = nameProblem(stored);
    return problem === undefined ? { name: stored } : { problem };
  }
  const name = nameFromStored(stored);
  const problem = nameProblem(name);
  if (problem !== undefined) return { problem };
  if (storedName(name) !== stored) return { problem: 'it is not written the way names are stored' };
  return { name };
}
