import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
  mkdirSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CheckpointError,
  FileStorage,
  type CheckpointErrorKind,
  type Storage,
} from 'checkpointable';
import { startChild } from './child-process';
import { mountTmpfs, type Tmpfs } from './tmpfs';
import { LOOP_KEYS, loopValue } from '../fixtures/storage/file-child';

const CHILD = 'test/fixtures/storage/file-child.ts';

/** The name a process with `pid` on this host gives its staging file during a commit. */
function stagingName(pid: number): string {
  return `${encodeURIComponent(hostname())}-${pid}-0123456789abcdef.pack`;
}
const fresh = () => mkdtempSync(join(tmpdir(), 'cp-file-'));

async function expectKind(
  promise: Promise<unknown>,
  kind: CheckpointErrorKind,
): Promise<CheckpointError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CheckpointError);
  expect((error as CheckpointError).kind).toBe(kind);
  return error as CheckpointError;
}

const opened: Storage[] = [];
async function open(dir: string): Promise<Storage> {
  const storage = await FileStorage.open(dir);
  opened.push(storage);
  return storage;
}
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});

describe('FileStorage.open', () => {
  it('creates a new folder with the marker and private permissions', async () => {
    const dir = join(fresh(), 'nested', 'store');
    const storage = await open(dir);
    expect(JSON.parse(readFileSync(join(dir, 'checkpointable.json'), 'utf8'))).toEqual({
      format: 'checkpointable-file-storage',
      version: 1,
    });
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const draft = await storage.createCheckpoint('order 42');
    await draft.put('k', 1);
    await (await storage.commitCheckpoint(draft)).release();
    expect(statSync(join(dir, 'committed')).mode & 0o777).toBe(0o700);
    const pack = readFileSync(join(dir, 'committed', 'order%2042'));
    expect(statSync(join(dir, 'committed', 'order%2042')).mode & 0o777).toBe(0o600);
    expect(pack.subarray(0, 5)).toEqual(Buffer.from('CPFS\u0001', 'latin1'));
    const headerLength = pack.readUInt32LE(5);
    const header = JSON.parse(pack.toString('utf8', 9, 9 + headerLength));
    expect(header).toMatchObject({
      identifier: 'order 42',
      keys: [['k', 0, pack.length - 9 - headerLength]],
    });
    expect(readdirSync(join(dir, 'staging'))).toEqual([]);
  });

  it('opens an existing empty folder', async () => {
    const dir = fresh();
    await open(dir);
    expect(existsSync(join(dir, 'committed'))).toBe(true);
  });

  it('opens a folder another process is making a store right now', async () => {
    // What a concurrent open sees between writing its marker and renaming it into place.
    const dir = fresh();
    writeFileSync(join(dir, '.checkpointable.json.0123456789ab'), '{"format":');
    await open(dir);
    expect(readdirSync(dir)).toContain('checkpointable.json');
  });

  it('lets eight processes open one new folder at the same time', async () => {
    const dir = join(fresh(), 'new');
    const children = Array.from({ length: 8 }, () => startChild(CHILD, [dir, 'hold', 'same-open']));
    const ready = await Promise.allSettled(children.map((c) => c.waitFor((l) => l === 'ready')));
    for (const c of children) c.process.stdin!.write('go\n');
    await Promise.all(children.map((c) => c.exited));
    expect(ready.map((r) => r.status)).toEqual(Array(8).fill('fulfilled'));
  });

  it('refuses a regular file with Initialization', async () => {
    const file = join(fresh(), 'not-a-folder');
    writeFileSync(file, 'x');
    const error = await expectKind(FileStorage.open(file), 'Initialization');
    expect(error.message).toBe(
      `Cannot open checkpoint folder ${file}: it is a file, not a folder; choose a folder path.`,
    );
  });

  it('refuses a non-empty folder that is not a checkpoint store, touching nothing', async () => {
    const dir = fresh();
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    const error = await expectKind(FileStorage.open(dir), 'Initialization');
    expect(error.message).toBe(
      `Cannot open checkpoint folder ${dir}: it is not empty and holds no checkpointable.json, so it is not a checkpoint store; choose an empty or new folder.`,
    );
    expect(readdirSync(dir)).toEqual(['notes.txt']);
  });

  it('refuses a store written in a format it does not know', async () => {
    const dir = fresh();
    writeFileSync(
      join(dir, 'checkpointable.json'),
      JSON.stringify({ format: 'checkpointable-file-storage', version: 99 }),
    );
    const error = await expectKind(FileStorage.open(dir), 'Initialization');
    expect(error.message).toContain('a format this version does not know');
  });

  it('refuses an unknown durability', async () => {
    const error = await expectKind(
      FileStorage.open(fresh(), { durability: 'sometimes' as 'durable' }),
      'Initialization',
    );
    expect(error.message).toBe(
      `FileStorage durability must be 'durable' or 'atomic', not "sometimes".`,
    );
  });
});

describe('FileStorage across processes', () => {
  it('sweeps the staging file a killed process left mid-commit, never listing it', async () => {
    const dir = fresh();
    await (await open(dir)).close();
    // A real process that has ended: its pid is dead, as after a SIGKILL mid-commit.
    const child = startChild(CHILD, [dir, 'hold', 'orphan']);
    await child.waitFor((l) => l === 'ready');
    const stale = stagingName(child.process.pid!);
    child.process.kill('SIGKILL');
    await child.exited;
    writeFileSync(join(dir, 'staging', stale), 'half a pack');
    const storage = await open(dir);
    expect(readdirSync(join(dir, 'staging'))).toEqual([]);
    expect(await storage.checkpointIdentifiers()).toEqual([]);
    await (await storage.commitCheckpoint(await storage.createCheckpoint('orphan'))).release();
  });

  it('leaves the staging file of a live process alone', async () => {
    const dir = fresh();
    await (await open(dir)).close();
    const child = startChild(CHILD, [dir, 'hold', 'busy']);
    await child.waitFor((l) => l === 'ready');
    const live = stagingName(child.process.pid!);
    writeFileSync(join(dir, 'staging', live), 'a commit in progress');
    await (await open(dir)).close();
    expect(readdirSync(join(dir, 'staging'))).toEqual([live]);
    child.process.stdin!.write('go\n');
    await child.exited;
  });

  it('lets exactly one of four racing processes commit each identifier', async () => {
    const dir = fresh();
    await (await open(dir)).close();
    const ids = Array.from({ length: 20 }, (_, i) => `race-${i}`);
    const children = Array.from({ length: 4 }, () => startChild(CHILD, [dir, 'race', ...ids]));
    await Promise.all(children.map((c) => c.waitFor((l) => l === 'ready')));
    for (const c of children) c.process.stdin!.write('go\n');
    expect(await Promise.all(children.map((c) => c.exited))).toEqual([0, 0, 0, 0]);
    const storage = await open(dir);
    expect(await storage.checkpointIdentifiers()).toEqual([...ids].sort());
    for (const id of ids) {
      const winners = children.filter((c) => c.lines.includes(`won ${id}`));
      const losers = children.filter((c) => c.lines.includes(`lost ${id}`));
      expect(winners).toHaveLength(1);
      expect(losers).toHaveLength(3);
      const loaded = await storage.loadCheckpoint(id);
      expect(await loaded.get('writer')).toBe(winners[0].process.pid);
      await loaded.release();
    }
    expect(readdirSync(join(dir, 'staging'))).toEqual([]);
  });

  it('keeps every acknowledged commit and no torn one when a writer is SIGKILLed mid-commit', async () => {
    const dir = fresh();
    await (await open(dir)).close();
    const acknowledged = new Set<string>();
    const kills = 5;
    for (let round = 0; round < kills; round++) {
      const child = startChild(CHILD, [dir, 'loop', `r${round}`]);
      // Let it acknowledge a random number of commits, then kill it wherever it is.
      const target = 1 + Math.floor(Math.random() * 5);
      await child.waitFor(() => child.lines.filter((l) => l.startsWith('ack ')).length >= target);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 20));
      child.process.kill('SIGKILL');
      expect(await child.exited).toBe('SIGKILL');
      for (const line of child.lines) if (line.startsWith('ack ')) acknowledged.add(line.slice(4));

      const storage = await open(dir);
      const listed = await storage.checkpointIdentifiers();
      for (const id of acknowledged) expect(listed).toContain(id);
      for (const id of listed) {
        await using loaded = await storage.loadCheckpoint(id);
        expect(await loaded.keys()).toEqual(LOOP_KEYS);
        for (const key of LOOP_KEYS) expect(await loaded.get(key)).toEqual(loopValue(id, key));
      }
      await storage.close();
    }
    expect(acknowledged.size).toBeGreaterThanOrEqual(kills);
  });
});

describe('FileStorage when the disk fails', () => {
  let mount: Tmpfs | undefined;
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
    mount?.unmount();
    mount = undefined;
  });

  it('reports a full disk as Io at commit, keeps the draft whole, and loses no committed checkpoint', async (context) => {
    const m = mountTmpfs(1024);
    if (typeof m === 'string') return context.skip(m);
    mount = m;
    const storage = await open(join(m.dir, 'store'));
    const keep = await storage.createCheckpoint('keep');
    await keep.put('v', 'safe');
    await (await storage.commitCheckpoint(keep)).release();

    const draft = await storage.createCheckpoint('too-big');
    await draft.put('small', 'still here');
    await draft.put('big', Buffer.alloc(2 * 1024 * 1024, 1));
    const error = await expectKind(storage.commitCheckpoint(draft), 'Io');
    expect(error.message).toMatch(
      /^Could not write .*: the disk is full; free space and retry \(ENOSPC\)\.$/,
    );
    expect(error.identifier).toBe('too-big');
    // The failed commit handed the draft back whole, and left no partial file behind.
    expect(await draft.get('small')).toBe('still here');
    expect(readdirSync(join(m.dir, 'store', 'staging'))).toEqual([]);
    await draft.remove('big');
    await (await storage.commitCheckpoint(draft)).release();

    const loaded = await storage.loadCheckpoint('keep');
    expect(await loaded.get('v')).toBe('safe');
    await loaded.release();
    expect(await storage.checkpointIdentifiers()).toEqual(['keep', 'too-big']);
  });

  it('reports a read-only file system as Io and still reads every committed checkpoint', async (context) => {
    const m = mountTmpfs(1024);
    if (typeof m === 'string') return context.skip(m);
    mount = m;
    const dir = join(m.dir, 'store');
    const writer = await open(dir);
    const draft = await writer.createCheckpoint('keep');
    await draft.put('v', { n: 1 });
    await (await writer.commitCheckpoint(draft)).release();
    await writer.close();
    m.remountReadOnly();

    const storage = await open(dir);
    const refused = await storage.createCheckpoint('new');
    await refused.put('v', 1);
    const error = await expectKind(storage.commitCheckpoint(refused), 'Io');
    expect(error.message).toMatch(
      /the file system is read-only; mount it read-write or choose another folder \(EROFS\)\.$/,
    );
    await refused.discard();
    await expectKind(storage.removeCheckpoint('keep'), 'Io');
    expect(await storage.checkpointIdentifiers()).toEqual(['keep']);
    const loaded = await storage.loadCheckpoint('keep');
    expect(await loaded.get('v')).toEqual({ n: 1 });
    await loaded.release();
  });
});

describe('FileStorage layout details', () => {
  it('maps long and unusual identifiers to hashed folder names and back', async () => {
    const dir = fresh();
    const storage = await open(dir);
    const long = 'ü'.repeat(200);
    const draft = await storage.createCheckpoint(long);
    await (await storage.commitCheckpoint(draft)).release();
    // Hidden names are staging files kept ready for the next commits.
    const names = readdirSync(join(dir, 'committed')).filter((name) => !name.startsWith('.'));
    expect(names).toHaveLength(1);
    expect(names[0]).toMatch(/^~[0-9a-f]{64}$/);
    expect(await storage.checkpointIdentifiers()).toEqual([long]);
  });

  it('ignores foreign entries in the committed folder', async () => {
    const dir = fresh();
    const storage = await open(dir);
    mkdirSync(join(dir, 'committed', '.DS_Store'));
    writeFileSync(join(dir, 'committed', '~not-a-hash'), '');
    expect(await storage.checkpointIdentifiers()).toEqual([]);
  });

  it('refuses a damaged pack file with Deserialize naming the file', async () => {
    const dir = fresh();
    const storage = await open(dir);
    const draft = await storage.createCheckpoint('c');
    await draft.put('k', 'value');
    await (await storage.commitCheckpoint(draft)).release();
    const path = join(dir, 'committed', 'c');
    const good = readFileSync(path);
    for (const damaged of [
      good.subarray(0, good.length - 1),
      Buffer.concat([good, Buffer.from('x')]),
      Buffer.from('CPFS\u0002'),
    ]) {
      writeFileSync(path, damaged);
      const error = await expectKind(storage.loadCheckpoint('c'), 'Deserialize');
      expect(error.message).toMatch(/^The checkpoint file .* is damaged: /);
      expect(error.message).toContain(path);
      expect(error.identifier).toBe('c');
    }
    writeFileSync(path, good);
    const loaded = await storage.loadCheckpoint('c');
    expect(await loaded.get('k')).toBe('value');
    await loaded.release();
  });
});
