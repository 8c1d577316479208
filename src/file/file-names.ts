import { hash } from 'node:crypto';

/**
 * How FileStorage turns a checkpoint identifier into the name of its file in
 * `committed/` and back. Listing reads file names only, so the mapping must be reversible without opening files:
 * - letters, digits, `-`, `_` and `.` (not leading) stay as they are;
 * - every other character becomes `%XX` per UTF-8 byte (like encodeURIComponent);
 * - a name that would exceed {@link MAX_FILE_NAME} bytes, or an identifier with a lone
 *   surrogate, becomes `~` + SHA-256 of the identifier; the identifier itself is then
 *   read from the pack file's header.
 * Identifiers that differ only in letter case map to different names, which a
 * case-insensitive file system (macOS, Windows) would treat as one: there, the second
 * commit fails with AlreadyExists rather than overwriting anything.
 */

/** Longest file name written, well under the 255-byte limit of common file systems. */
export const MAX_FILE_NAME = 200;

/**
 * The file name for `identifier`.
 *
 * @example
 * ```ts
 * fileName('order 42'); // 'order%2042'
 * ```
 */
export function fileName(identifier: string): string {
  // Encoding never shortens a name: a longer identifier is hashed without trying.
  if (identifier.length > MAX_FILE_NAME) return hashedName(identifier);
  let encoded: string | undefined;
  try {
    encoded = encodeURIComponent(identifier).replace(
      /[!'()*~]/g,
      (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
    );
    if (encoded.startsWith('.')) encoded = `%2E${encoded.slice(1)}`;
  } catch {
    encoded = undefined; // a lone surrogate: encodeURIComponent refuses it
  }
  if (encoded !== undefined && encoded.length <= MAX_FILE_NAME) return encoded;
  return hashedName(identifier);
}

function hashedName(identifier: string): string {
  // One-shot hash: listing checks thousands of these, and it is twice as fast as createHash.
  return `~${hash('sha256', Buffer.from(identifier, 'utf16le'), 'hex')}`;
}

/**
 * The identifier behind a file name, or `undefined` when the name is hashed (read the
 * pack header) or is not one of ours.
 *
 * @example
 * ```ts
 * identifierOf('order%2042'); // 'order 42'
 * ```
 */
export function identifierOf(name: string): string | undefined {
  if (name.startsWith('~') || name.startsWith('.')) return undefined;
  try {
    const identifier = decodeURIComponent(name);
    return fileName(identifier) === name ? identifier : undefined;
  } catch {
    return undefined;
  }
}
