import { readStoredName } from '../database/stored-name';
import { MAX_STORED_NAME_BYTES } from './redis-limits';

/** Strict UTF-8: bytes that are not valid UTF-8 throw instead of becoming U+FFFD. */
export const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** A stored name read as bytes: its length bounded, its UTF-8 strict, then as any name. */
export function readStoredBytes(raw: Buffer): { name: string } | { problem: string } {
  if (raw.length > MAX_STORED_NAME_BYTES)
    return { problem: `it is ${raw.length} bytes long, longer than any name` };
  let text: string;
  try {
    text = UTF8.decode(raw);
  } catch {
    return { problem: 'it is not valid UTF-8' };
  }
  return readStoredName(text);
}

/** A damaged name as a report shows it: decoded leniently, cut at the longest name. */
export function shown(raw: Buffer): string {
  return raw.subarray(0, MAX_STORED_NAME_BYTES + 1).toString('utf8');
}
