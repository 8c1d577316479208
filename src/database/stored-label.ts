import { MAX_LABEL_LENGTH } from '../storage/checkpoint-summaries';

/**
 * How a checkpoint label is written into PostgreSQL `text` and Redis strings.
 *
 * A label is any JavaScript string, but PostgreSQL text cannot hold U+0000 and neither
 * medium keeps a lone UTF-16 surrogate (UTF-8 has no form for it). Those, and the escape
 * character U+0001 itself, are written as U+0001 and four hex digits of the code unit;
 * everything else is stored as it is, so the mapping is reversible and one label has one
 * stored form.
 */

const ESCAPE = '\u0001';
const ESCAPED_UNITS =
  // eslint-disable-next-line no-control-regex -- U+0000 and U+0001 are what is escaped
  /[\u0000\u0001]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
// eslint-disable-next-line no-control-regex -- U+0001 is the escape
const ESCAPE_SEQUENCE = /\u0001([0-9a-f]{4})/g;

/**
 * The longest stored form of a valid label, in UTF-16 units and in UTF-8 bytes: each
 * unit takes at most five (an escape), and no unit more than five UTF-8 bytes.
 */
export const MAX_STORED_LABEL = MAX_LABEL_LENGTH * 5;

/**
 * The stored form of a (checked) label.
 *
 * @example
 * ```ts
 * storedLabel('a\u0000b'); // 'a\u00010000b'
 * ```
 */
export function storedLabel(label: string): string {
  return label.replace(
    ESCAPED_UNITS,
    (unit) => ESCAPE + unit.charCodeAt(0).toString(16).padStart(4, '0'),
  );
}

/**
 * The label behind a stored form read back, or why there is none: longer than any
 * stored label, an escape that {@link storedLabel} never writes, or too long once read.
 *
 * @example
 * ```ts
 * readStoredLabel('a\u00010000b'); // { label: 'a\u0000b' }
 * readStoredLabel('\u0001zz'); // { problem: ... }
 * ```
 */
export function readStoredLabel(stored: string): { label: string } | { problem: string } {
  if (stored.length > MAX_STORED_LABEL) {
    return { problem: `its label is ${stored.length} characters long, longer than any label` };
  }
  const label = stored.includes(ESCAPE)
    ? stored.replace(ESCAPE_SEQUENCE, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))
    : stored;
  if (label.length > MAX_LABEL_LENGTH) {
    return {
      problem: `its label is ${label.length} characters long, more than ${MAX_LABEL_LENGTH}`,
    };
  }
  // One label has one stored form: anything else (a stray escape, a raw U+0000) is damage.
  if (storedLabel(label) !== stored) {
    return { problem: 'its label is not written the way labels are stored' };
  }
  return { label };
}
