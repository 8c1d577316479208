import { storedName } from '../database/stored-name';
import { MAX_SUMMARY_BYTES } from './redis-limits';

/**
 * The summary-hash field of a checkpoint: its label and its keys with their sizes, or ''
 * (none) when it would pass {@link MAX_SUMMARY_BYTES}.
 */
export function summaryOf(values: Map<string, Uint8Array>, label: string | undefined): string {
  const parts: string[] = [];
  for (const [key, bytes] of values) parts.push(`${storedName(key)}/${bytes.length}`);
  const json = JSON.stringify(
    label === undefined ? { k: parts.join('\\') } : { l: label, k: parts.join('\\') },
  );
  return Buffer.byteLength(json) <= MAX_SUMMARY_BYTES ? json : '';
}
