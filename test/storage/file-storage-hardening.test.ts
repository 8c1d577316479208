import { execFileSync, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CheckpointError, FileStorage, type CheckpointErrorKind } from 'checkpointable';
import { fileName } from '../../src/file/file-names';
import { buildPack, MAX_HEADER_BYTES } from '../../src/file/file-pack';

const root = mkdtempSync(join(tmpdir(), 'cp-file-hard-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(root, `s${n++}`);

async function expectKind(
  promise: Promise<unknown>,
  kind: CheckpointErrorKind,
): Promise<CheckpointError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CheckpointError);
  expect((error as CheckpointError).kind, (error as Error).message).toBe(kind);
  return error as CheckpointError;
}

const opened: FileStorage[] = [];
async function openRaw(dir: string): Promise<FileStorage> {
  const storage = await FileStorage.openRaw(dir, { durability: 'atomic' });
  opened.push(storage);
  return storage;
}
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});

async function commit(storage: FileStorage, identifier: string, values: Record<string, unknown>) {
  const draft = await storage.createCheckpoint(identifier);
  for (const [key, value] of Object.entries(values)) await draft.put(key, value);
  await (await storage.commitCheckpoint(draft)).release();
}

/**
 * Writes the pack of `identifier` into `committed/` with its header as written, then sets
 * the file's size (sparse: costs no disk) and optionally overwrites the header length.
 */
function writeSparsePack(
  dir: string,
  name: string,
  identifier: string,
  values: Map<string, Uint8Array>,
  options: { size?: number; headerLength?: number; lengths?: Map<string, number> } = {},
): void {
  const { chunks } = buildPack(identifier, new Date(0), values);
  let header = Buffer.from(chunks[1]);
  if (options.lengths !== undefined) {
    const parsed = JSON.parse(header.toString('utf8')) as { keys: [string, number, number][] };
    let offset = 0;
    parsed.keys = parsed.keys.map(([key, , length]) => {
      const declared = options.lengths!.get(key) ?? length;
      const entry: [string, number, number] = [key, offset, declared];
      offset += declared;
      return entry;
    });
    header = Buffer.from(JSON.stringify(parsed));
  }
  const prefix = Buffer.from(chunks[0]);
  prefix.writeUInt32LE(options.headerLength ?? header.length, 5);
  const path = join(dir, 'committed', name);
  const fd = openSync(path, 'wx', 0o600);
  try {
    writeSync(fd, prefix);
    writeSync(fd, header);
    for (const chunk of chunks.slice(2)) writeSync(fd, chunk);
  } finally {
    closeSync(fd);
  }
  if (options.size !== undefined) truncateSync(path, options.size);
}

const GiB = 1024 ** 3;

describe('FileStorage: lengths from a pack file are checked before they are used', () => {
  it('refuses a header length near 2^32 in a sparse 4.5 GiB file, on load and on listing', async () => {
    const dir = fresh();
    const storage = await openRaw(dir);
    writeSparsePack(dir, 'huge-header', 'huge-header', new Map(), {
      headerLength: 0xfffffff0,
      size: 4.5 * GiB,
    });
    const long = 'L'.repeat(250); // a hashed name: listing reads its header
    writeSparsePack(dir, fileName(long), long, new Map(), {
      headerLength: 0xfffffff0,
      size: 4.5 * GiB,
    });
    const error = await expectKind(storage.loadCheckpoint('huge-header'), 'Deserialize');
    expect(error.message).toContain(
      `its header length ${0xfffffff0} exceeds the limit of ${MAX_HEADER_BYTES} bytes`,
    );
    expect(await storage.checkpointIdentifiers()).toEqual(['huge-header']);
    const damaged = await storage.listDamaged();
    expect(damaged.map((d) => d.name).sort()).toEqual([fileName(long), 'huge-header'].sort());
  });

  it('refuses a 1 GiB header length without reading it', async () => {
    const dir = fresh();
    const storage = await openRaw(dir);
    writeSparsePack(dir, 'gig', 'gig', new Map(), { headerLength: GiB, size: GiB + 4096 });
    const before = process.memoryUsage().arrayBuffers;
    const error = await expectKind(storage.loadCheckpoint('gig'), 'Deserialize');
    expect(error.message).toContain('exceeds the limit');
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024);
  });

  it('refuses a key whose length runs past the end of the file', async () => {
    const dir = fresh();
    const storage = await openRaw(dir);
    writeSparsePack(dir, 'past', 'past', new Map([['k', new Uint8Array(8)]]), {
      lengths: new Map([['k', 2 ** 31 + 5]]),
    });
    const error = await expectKind(storage.loadCheckpoint('past'), 'Deserialize');
    expect(error.message).toContain('its entry for key "k" runs past the end of the file');
  });

  it('reads a value larger than 2 GiB from a sparse pack in bounded read calls', async () => {
    const dir = fresh();
    const storage = await openRaw(dir);
    const length = 2 * GiB + 4096;
    const path = join(dir, 'committed', 'big');
    const { chunks } = buildPack('big', new Date(0), new Map([['v', new Uint8Array(0)]]));
    const header = Buffer.from(
      JSON.stringify({
        identifier: 'big',
        createdAt: new Date(0).toISOString(),
        keys: [['v', 0, length]],
      }),
    );
    const prefix = Buffer.from(chunks[0]);
    prefix.writeUInt32LE(header.length, 5);
    writeFileSync(path, Buffer.concat([prefix, header]), { mode: 0o600 });
    truncateSync(path, prefix.length + header.length + length);
    const loaded = await storage.loadCheckpoint('big');
    const bytes = await loaded.getBytes('v');
    expect(bytes.byteLength).toBe(length);
    expect(bytes[0]).toBe(0);
    expect(bytes[length - 1]).toBe(0);
    await loaded.release();
  }, 120_000);
});

describe('FileStorage: a FIFO or other special file in the folder never blocks', () => {
  it('refuses a FIFO under a checkpoint name everywhere and lists past it', async () => {
    const dir = fresh();
    const storage = await openRaw(dir);
    await commit(storage, 'good', { k: 1 });
    execFileSync('mkfifo', [join(dir, 'committed', 'pipe')]);
    execFileSync('mkfifo', [join(dir, 'committed', fileName('P'.repeat(250)))]);
    const error = await expectKind(storage.loadCheckpoint('pipe'), 'Deserialize');
    expect(error.message).toContain(
      `The entry ${join(dir, 'committed', 'pipe')} of checkpoint "pipe" is a FIFO, not a checkpoint file`,
    );
    expect(await storage.checkpointIdentifiers()).toEqual(['good']);
    await expectKind(storage.loadCheckpoint('P'.repeat(250)), 'Deserialize');
    await expectKind(storage.createCheckpoint('pipe'), 'Deserialize');
    expect((await storage.listDamaged()).map((d) => d.reason)).toEqual([
      'it is a FIFO, not a checkpoint file',
      'it is a FIFO, not a checkpoint file',
    ]);
    await storage.removeCheckpoint('pipe');
    expect(existsSync(join(dir, 'committed', 'pipe'))).toBe(false);
  }, 20_000);

  it('refuses a FIFO in place of the marker with Initialization', async () => {
    const dir = fresh();
    await (await openRaw(dir)).close();
    rmSync(join(dir, 'checkpointable.json'));
    execFileSync('mkfifo', [join(dir, 'checkpointable.json')]);
    const error = await expectKind(FileStorage.openRaw(dir), 'Initialization');
    expect(error.message).toContain('its checkpointable.json cannot be read (ENOTREG)');
  }, 20_000);
});

describe('FileStorage: symbolic links are refused, and nothing outside the folder is touched', () => {
  it('refuses a committed/ folder that is a link, so no commit lands outside', async () => {
    const dir = fresh();
    await (await openRaw(dir)).close();
    const outside = fresh();
    mkdirSync(outside);
    rmSync(join(dir, 'committed'), { recursive: true });
    symlinkSync(outside, join(dir, 'committed'));
    const error = await expectKind(FileStorage.openRaw(dir), 'Initialization');
    expect(error.message).toBe(
      `Cannot open checkpoint folder ${dir}: ${join(dir, 'committed')} is a symbolic link, not a folder; FileStorage keeps its checkpoints inside its own folder and follows no links. Replace it with a real folder (move its contents in) or choose another folder.`,
    );
    expect(readdirSync(outside)).toEqual([]);
  });

  it('opens a store whose own folder is reached through a link, as operators set up', async () => {
    const real = fresh();
    mkdirSync(real);
    const linked = fresh();
    symlinkSync(real, linked);
    const storage = await FileStorage.openRaw(linked); // durable: fsyncs the folder too
    opened.push(storage);
    await commit(storage, 'through-link', { k: 1 });
    // Hidden names are staging files kept ready for the next commits.
    const names = readdirSync(join(real, 'committed')).filter((name) => !name.startsWith('.'));
    expect(names).toEqual(['through-link']);
  });

  it('refuses a staging/ folder that is a link, deleting nothing it points to', async () => {
    const dir = fresh();
    await (await openRaw(dir)).close();
    const outside = fresh();
    mkdirSync(outside);
    // The name a dead process on this host would have left mid-commit.
    const victim = `${encodeURIComponent(hostname())}-999999999-0123456789abcdef.pack`;
    writeFileSync(join(outside, victim), 'precious');
    rmSync(join(dir, 'staging'), { recursive: true });
    symlinkSync(outside, join(dir, 'staging'));
    await expectKind(FileStorage.openRaw(dir), 'Initialization');
    expect(readFileSync(join(outside, victim), 'utf8')).toBe('precious');
  });

  it('never serves a checkpoint file that links outside, and removes only the link', async () => {
    const dir = fresh();
    const storage = await openRaw(dir);
    const elsewhere = fresh();
    const other = await openRaw(elsewhere);
    await commit(other, 'linked', { secret: 'outside' });
    const target = join(elsewhere, 'committed', 'linked');
    symlinkSync(target, join(dir, 'committed', 'linked'));
    const error = await expectKind(storage.loadCheckpoint('linked'), 'Deserialize');
    expect(error.message).toContain('is a symbolic link, not a checkpoint file');
    expect(await storage.checkpointIdentifiers()).toEqual([]);
    await expectKind(storage.createCheckpoint('linked'), 'Deserialize');
    await storage.removeCheckpoint('linked');
    expect(existsSync(target)).toBe(true);
  });

  it('treats a dangling link as a damaged entry: not listed, refused on load, create and commit', async () => {
    const dir = fresh();
    const seen: { name: string; reason: string }[] = [];
    const storage = await FileStorage.openRaw(dir, { onDamaged: (e) => seen.push(e) });
    opened.push(storage);
    const draft = await storage.createCheckpoint('dangling');
    await draft.put('k', 1);
    symlinkSync(join(fresh(), 'nothing'), join(dir, 'committed', 'dangling'));
    expect(await storage.checkpointIdentifiers()).toEqual([]);
    expect(seen).toEqual([
      { name: 'dangling', reason: 'it is a symbolic link, not a checkpoint file' },
    ]);
    await expectKind(storage.loadCheckpoint('dangling'), 'Deserialize');
    await expectKind(storage.createCheckpoint('dangling'), 'Deserialize');
    const refused = await expectKind(storage.commitCheckpoint(draft), 'Deserialize');
    expect(refused.message).toContain('is a symbolic link, not a checkpoint file');
    await storage.removeCheckpoint('dangling');
    await (await storage.commitCheckpoint(draft)).release();
    expect(await storage.checkpointIdentifiers()).toEqual(['dangling']);
  });
});

describe('FileStorage: listing skips and reports entries that are not checkpoints', () => {
  it('lists only names inside the grammar, never failing on one bad entry', async () => {
    const dir = fresh();
    const seen: string[] = [];
    const storage = await FileStorage.openRaw(dir, { onDamaged: (e) => seen.push(e.name) });
    opened.push(storage);
    await commit(storage, 'good', { k: 1 });
    const long = 'é'.repeat(200);
    await commit(storage, long, { k: 2 });
    const committed = join(dir, 'committed');
    writeFileSync(join(committed, 'a%2Fb'), 'x'); // decodes to "a/b"
    writeFileSync(join(committed, 'nul%00'), 'x'); // decodes to a control character
    writeFileSync(join(committed, '.hidden'), 'x');
    writeFileSync(join(committed, '~not-a-hash'), 'x');
    writeFileSync(join(committed, fileName('D'.repeat(250))), 'damaged pack');
    mkdirSync(join(committed, 'folder'));
    writeFileSync(join(committed, 'plain-damaged'), 'not a pack');
    expect(await storage.checkpointIdentifiers()).toEqual(['good', 'plain-damaged', long]);
    expect(seen.sort()).toEqual(
      ['a%2Fb', 'nul%00', '.hidden', '~not-a-hash', fileName('D'.repeat(250)), 'folder'].sort(),
    );
    const damaged = new Map((await storage.listDamaged()).map((d) => [d.name, d.reason]));
    expect([...damaged.keys()].sort()).toEqual([...seen, 'plain-damaged'].sort());
    expect(damaged.get('a%2Fb')).toBe(
      `its name stands for "a/b", not a valid identifier: it contains '/' at position 1`,
    );
    expect(damaged.get('folder')).toBe('it is a folder, not a checkpoint file');
    expect(damaged.get('plain-damaged')).toContain('is damaged: it does not start with "CPFS"');
    // The loadable ones still load.
    const loaded = await storage.loadCheckpoint(long);
    expect(await loaded.get('k')).toBe(2);
    await loaded.release();
  });

  it('resolves a hashed name whose pack holds another identifier as damaged', async () => {
    const dir = fresh();
    const storage = await openRaw(dir);
    const a = 'A'.repeat(250);
    writeSparsePack(dir, fileName('B'.repeat(250)), a, new Map([['k', new Uint8Array([1])]]));
    expect(await storage.checkpointIdentifiers()).toEqual([]);
    const [entry] = await storage.listDamaged();
    expect(entry.reason).toContain('whose file name is not');
  });
});

describe('FileStorage: each live handle holds one file descriptor', () => {
  it('fails a load past the descriptor limit with Io, and loads again once handles are released', async () => {
    const dir = fresh();
    const child = spawnSync(
      'sh',
      [
        '-c',
        'ulimit -n 256 && exec "$0" -r @swc-node/register test/fixtures/storage/file-handle-limit.ts "$1"',
        process.execPath,
        dir,
      ],
      { cwd: join(__dirname, '..', '..'), encoding: 'utf8', timeout: 120_000 },
    );
    expect(child.status, child.stderr).toBe(0);
    const result = JSON.parse(child.stdout.trim()) as Record<string, unknown>;
    expect(result).toMatchObject({ kind: 'Io', allRead: true, afterRelease: 'value' });
    expect(result.held).toBeGreaterThan(100);
    expect(result.held).toBeLessThan(256);
    expect(result.message).toBe(
      `Could not read ${join(dir, 'committed', 'held')}: too many open files; raise the limit (ulimit -n) or release handles you no longer need (EMFILE).`,
    );
  });
});
