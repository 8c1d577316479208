import { storedName } from '../database/stored-name';
import { MAX_KEY_LIST } from './postgres-limits';

/** A row of a summary query: `list` is `key/size` entries joined by `\`. */
export interface SummaryRow {
  identifier: string;
  created_ms: number;
  label: string | null;
  count: string;
  list: string | null;
}

/** The `key_list` of a checkpoint's values; null when longer than {@link MAX_KEY_LIST}. */
export function keyList(values: Map<string, Uint8Array>): string | null {
  const parts: string[] = [];
  let length = 0;
  for (const [key, bytes] of values) {
    const part = `${storedName(key)}/${bytes.length}`;
    length += part.length + 1;
    if (length > MAX_KEY_LIST + 1) return null;
    parts.push(part);
  }
  return parts.join('\\');
}
