import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileStorage } from 'checkpointable';
import { fileName } from '../../src/file/file-names';

const root = mkdtempSync(join(tmpdir(), 'cp-file-hashed-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const long = (i: number) => `${'long identifier '.repeat(14)}${i}`;

async function storeWith(count: number) {
  const dir = join(root, `s${n++}`);
  const storage = await FileStorage.openRaw(dir, { durability: 'atomic' });
  for (let i = 0; i < count; i++) {
    const draft = await storage.createCheckpoint(long(i));
    await draft.put('i', i);
    await (await storage.commitCheckpoint(draft)).release();
  }
  return { dir, storage, index: join(dir, 'hashed-names') };
}

async function listFresh(dir: string): Promise<string[]> {
  const storage = await FileStorage.openRaw(dir);
  try {
    return await storage.checkpointIdentifiers();
  } finally {
    await storage.close();
  }
}

describe('FileStorage: identifiers behind hashed file names come from the hashed-names index', () => {
  it('lists hashed identifiers from the index, without reading their packs', async () => {
    const { dir, storage, index } = await storeWith(3);
    expect(readFileSync(index, 'utf8')).toBe(
      [0, 1, 2].map((i) => `${fileName(long(i))} ${long(i)}\n`).join(''),
    );
    // A pack damaged after its commit is still listed by name, as a short name would be...
    writeFileSync(join(dir, 'committed', fileName(long(1))), 'damaged');
    expect(await listFresh(dir)).toEqual([long(0), long(1), long(2)]);
    // ...and reported by the check that opens every pack.
    const damaged = await storage.listDamaged();
    expect(damaged.map((d) => d.name)).toEqual([fileName(long(1))]);
    await storage.close();
  });

  it('ignores index lines that do not check, and reads those packs instead', async () => {
    const { dir, storage, index } = await storeWith(2);
    await storage.close();
    writeFileSync(
      index,
      [
        `${fileName(long(0))} forged identifier`, // the hash of the identifier is not the name
        `${fileName(long(1))} ${long(1).slice(0, 40)}`, // a torn line
        `${fileName(long(7))} ${long(7)}`, // a checkpoint that is not there
        `~short x`,
        '',
      ].join('\n'),
    );
    expect(await listFresh(dir)).toEqual([long(0), long(1)]);
    // The packs read were appended to the index for next time.
    expect(readFileSync(index, 'utf8')).toContain(`${fileName(long(0))} ${long(0)}\n`);
    expect(readFileSync(index, 'utf8')).toContain(`${fileName(long(1))} ${long(1)}\n`);
  });

  it('lists correctly without an index and writes a new one', async () => {
    const { dir, storage, index } = await storeWith(2);
    await storage.close();
    rmSync(index);
    expect(await listFresh(dir)).toEqual([long(0), long(1)]);
    expect(readFileSync(index, 'utf8').split('\n').length).toBe(3);
  });

  it('rewrites the index without stale lines once they outnumber the live ones', async () => {
    const { dir, storage, index } = await storeWith(1);
    await storage.close();
    const stale = Array.from(
      { length: 1100 },
      (_, i) => `${fileName(long(i + 10))} ${long(i + 10)}\n`,
    );
    appendFileSync(index, stale.join(''));
    expect(await listFresh(dir)).toEqual([long(0)]);
    expect(readFileSync(index, 'utf8')).toBe(`${fileName(long(0))} ${long(0)}\n`);
  });
});

describe('FileStorage: listing order', () => {
  it('sorts identifiers that share a long prefix exactly as sortNames does', async () => {
    const dir = join(root, `s${n++}`);
    const storage = await FileStorage.openRaw(dir, { durability: 'atomic' });
    const prefix = 'tenant-4711/'.replace('/', '-').repeat(3);
    const identifiers = [
      prefix,
      `${prefix}b`,
      `${prefix}B`,
      `${prefix}a-long-${'x'.repeat(200)}`,
      `${prefix}\uD83D\uDE00`,
      `${prefix}\uFFFF`,
      `${prefix}é`,
      `${prefix}0`,
      `${prefix.slice(0, -1)}`,
    ];
    for (const identifier of [...identifiers].reverse()) {
      await (await storage.commitCheckpoint(await storage.createCheckpoint(identifier))).release();
    }
    const expected = [...identifiers].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    expect(await storage.checkpointIdentifiers()).toEqual(expected);
    expect(await listFresh(dir)).toEqual(expected);
    await storage.close();
  });
});
