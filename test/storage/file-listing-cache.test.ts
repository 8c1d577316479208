import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FolderListingCache, prefixRange, RACY_MARGIN_MS } from '../../src/file/file-listing-cache';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('FolderListingCache', () => {
  it('does not trust a listing taken within the racy margin of the last change', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cp-listing-cache-'));
    const cache = new FolderListingCache<number>(dir);
    let reads = 0;
    const read = async () => ++reads;
    writeFileSync(join(dir, 'a'), '');
    // Just changed: a change in the same clock tick could follow unseen, so every call reads.
    expect(await cache.get(read)).toBe(1);
    expect(await cache.get(read)).toBe(2);
    await pause(RACY_MARGIN_MS + 50);
    // Quiet long enough: the listing taken now is kept, and the next call reuses it.
    expect(await cache.get(read)).toBe(3);
    expect(await cache.get(read)).toBe(3);
    expect(await cache.get(read)).toBe(3);
    // Any change of the folder's names changes its stamp.
    writeFileSync(join(dir, 'b'), '');
    expect(await cache.get(read)).toBe(4);
  });

  it('forgets on clear()', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cp-listing-cache-'));
    await pause(RACY_MARGIN_MS + 50);
    const cache = new FolderListingCache<number>(dir);
    let reads = 0;
    const read = async () => ++reads;
    expect(await cache.get(read)).toBe(1);
    expect(await cache.get(read)).toBe(1);
    cache.clear();
    expect(await cache.get(read)).toBe(2);
  });
});

describe('prefixRange', () => {
  const sorted = ['a', 'a:', 'a:1', 'a:2', 'ab', 'b'];
  it('finds the range of a prefix, cut at before', () => {
    expect(prefixRange(sorted, 'a:')).toEqual([1, 4]);
    expect(prefixRange(sorted, 'a:', 'a:2')).toEqual([1, 3]);
    expect(prefixRange(sorted, 'a:', 'a')).toEqual([1, 1]);
    expect(prefixRange(sorted, '')).toEqual([0, 6]);
    expect(prefixRange(sorted, 'c')).toEqual([6, 6]);
    expect(prefixRange([], 'a')).toEqual([0, 0]);
  });
});
