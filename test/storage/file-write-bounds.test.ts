import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import type { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileStorage } from 'checkpointable';
import {
  nextWriteBatch,
  WRITE_MAX_BYTES,
  WRITEV_MAX_BUFFERS,
  writeChunks,
} from '../../src/file/durable-fs';
import { fileName } from '../../src/file/file-names';

const root = mkdtempSync(join(tmpdir(), 'cp-file-write-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const MiB = 1024 * 1024;
const total = (batch: Uint8Array[]) => batch.reduce((sum, c) => sum + c.byteLength, 0);

describe('FileStorage writes: every write call is bounded and must make progress', () => {
  it('never offers one write call 2 GiB or more, whatever the values', () => {
    // Untouched allocations: no memory is committed for them.
    const huge = Buffer.allocUnsafe(2 * 1024 * MiB + 4096);
    const three = [1, 2, 3].map(() => Buffer.allocUnsafe(750 * MiB));
    expect(WRITE_MAX_BYTES).toBeLessThan(2 ** 31 - 4096);
    for (const pending of [[huge], three, [Buffer.alloc(10), huge]]) {
      const batch = nextWriteBatch(pending, WRITE_MAX_BYTES);
      expect(total(batch)).toBe(WRITE_MAX_BYTES);
    }
    const many = Array.from({ length: 3000 }, () => Buffer.alloc(1));
    expect(nextWriteBatch(many, WRITE_MAX_BYTES)).toHaveLength(WRITEV_MAX_BUFFERS);
  });

  it('commits values across many bounded calls, cutting values in the middle', async () => {
    const storage = await FileStorage.openRaw(join(root, 'small-calls'), { durability: 'atomic' });
    storage.writeMaxBytes = 1000; // forces every value above to be split
    const values = [5, 999, 1001, 4095, 4096, 70_000, 0, 3].map((size) => randomBytes(size));
    const draft = await storage.createCheckpoint('split');
    for (const [i, bytes] of values.entries()) await draft.putBytes(`k${i}`, bytes);
    for (let i = 0; i < 2000; i++) await draft.put(`small-${i}`, i);
    await (await storage.commitCheckpoint(draft)).release();
    const loaded = await storage.loadCheckpoint('split');
    for (const [i, bytes] of values.entries()) {
      expect(Buffer.from(await loaded.getBytes(`k${i}`)).equals(bytes)).toBe(true);
    }
    for (let i = 0; i < 2000; i++) expect(await loaded.get(`small-${i}`)).toBe(i);
    await loaded.release();
    await storage.close();
  });

  it('fails with EIO on a write call that makes no progress or reports too much', async () => {
    for (const reported of [0, -2147479552, 10_000]) {
      let calls = 0;
      const handle = {
        writev: async () => {
          calls++;
          return { bytesWritten: reported, buffers: [] };
        },
      } as unknown as fs.FileHandle;
      const error = await writeChunks(handle, [Buffer.alloc(100)]).then(
        () => undefined,
        (e: unknown) => e as Error & { code?: string },
      );
      expect(error?.code).toBe('EIO');
      expect(error?.message).toBe(`write made no progress (${reported} of 100 bytes written)`);
      expect(calls).toBe(1);
    }
  });

  // Writes 2 GiB to the disk: part of `npm run stress`, not of every test run.
  it.runIf(process.env.STRESS === '1')(
    'commits a value of 2 GiB + 4 KiB in one piece, exactly its size on disk',
    async () => {
      const dir = join(root, 'big');
      const storage = await FileStorage.openRaw(dir, { durability: 'atomic' });
      const size = 2 * 1024 * MiB + 4096;
      const value = Buffer.allocUnsafe(size);
      value.fill(7, size - 4096);
      const draft = await storage.createCheckpoint('big');
      // The owned-bytes path: no defensive 2 GiB copy in the test.
      await (
        draft as unknown as { putOwnedBytes(k: string, b: Uint8Array): Promise<void> }
      ).putOwnedBytes('v', value);
      await (await storage.commitCheckpoint(draft)).release();
      const path = join(dir, 'committed', fileName('big'));
      const { size: onDisk } = statSync(path);
      expect(onDisk - size).toBeGreaterThan(0);
      expect(onDisk - size).toBeLessThan(200); // the prefix and header only
      await storage.removeCheckpoint('big');
      await storage.close();
    },
    300_000,
  );
});
