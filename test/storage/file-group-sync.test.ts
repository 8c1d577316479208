import { constants, mkdtempSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { GroupSync } from '../../src/file/durable-fs';

afterEach(() => vi.restoreAllMocks());

/** Counts the folder fsyncs GroupSync starts (each opens the folder with O_DIRECTORY). */
function countFolderSyncs(): { count: () => number } {
  const open = fs.open.bind(fs);
  let count = 0;
  vi.spyOn(fs, 'open').mockImplementation((async (path: string, flags?: number, mode?: number) => {
    if (typeof flags === 'number' && (flags & constants.O_DIRECTORY) !== 0) count++;
    return open(path, flags, mode);
  }) as typeof fs.open);
  return { count: () => count };
}

describe('GroupSync', () => {
  it('lets sixteen concurrent callers share two folder fsyncs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cp-group-sync-'));
    const syncs = countFolderSyncs();
    const group = new GroupSync(dir);
    await Promise.all(Array.from({ length: 16 }, () => group.sync()));
    // The first caller's sync starts at once; the fifteen who asked while it ran share the
    // next one, which starts after they asked.
    expect(syncs.count()).toBe(2);
  });

  it('never answers a caller with a sync that started before it asked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cp-group-sync-'));
    const syncs = countFolderSyncs();
    const group = new GroupSync(dir);
    const first = group.sync();
    const second = group.sync(); // asked while the first runs: must wait for another
    expect(syncs.count()).toBe(1);
    let secondDone = false;
    void second.then(() => (secondDone = true));
    await first;
    expect(secondDone).toBe(false);
    await second;
    expect(syncs.count()).toBe(2);
    await group.sync(); // nothing running: a new one
    expect(syncs.count()).toBe(3);
  });

  it('rejects every caller sharing a failed fsync, and recovers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cp-group-sync-'));
    const group = new GroupSync(join(dir, 'missing'));
    const results = await Promise.allSettled([group.sync(), group.sync(), group.sync()]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    await fs.mkdir(join(dir, 'missing'));
    await expect(group.sync()).resolves.toBeUndefined();
  });
});
