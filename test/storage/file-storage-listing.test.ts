import { spawnSync } from 'node:child_process';
import {
  linkSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  rmSync,
  symlinkSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CheckpointError, FileStorage } from 'checkpointable';
import { hasSummaryListing } from '../../src/storage/checkpoint-summaries';
import { selectWithPrefix } from '../../src/storage/prefix-listing';
import { fileName } from '../../src/file/file-names';

const fresh = () => mkdtempSync(join(tmpdir(), 'cp-file-listing-'));

const opened: FileStorage[] = [];
async function openRaw(dir: string): Promise<FileStorage> {
  const storage = await FileStorage.openRaw(dir);
  opened.push(storage);
  return storage;
}
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});

async function commit(
  storage: FileStorage,
  identifier: string,
  values: Record<string, unknown>,
  label?: string,
): Promise<void> {
  const draft = await storage.createCheckpoint(identifier);
  for (const [key, value] of Object.entries(values)) await draft.put(key, value);
  if (label !== undefined) {
    if (draft.setLabel === undefined) throw new Error('FileStorage handles take labels');
    draft.setLabel(label);
  }
  await (await storage.commitCheckpoint(draft)).release();
}

describe('FileStorage createCheckpoint({ checkExists: false })', () => {
  it('skips the early check and leaves the refusal to the commit', async () => {
    const storage = await openRaw(fresh());
    await commit(storage, 'taken', { v: 'original' });
    // No AlreadyExists at create: the check was skipped ...
    const draft = await storage.createCheckpoint('taken', { checkExists: false });
    await draft.put('v', 'replacement');
    // ... and the commit refuses the existing name atomically.
    const error = await storage.commitCheckpoint(draft).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as CheckpointError).kind).toBe('AlreadyExists');
    await draft.discard();
    const loaded = await storage.loadCheckpoint('taken');
    expect(await loaded.get('v')).toBe('original');
    await loaded.release();
  });
});

/** Writes a pack by hand into `committed/`: `header` is the header JSON as given, values back to back. */
function writePack(dir: string, identifier: string, header: unknown, values: Buffer[] = []): void {
  const text = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(9);
  prefix.write('CPFS', 0, 'latin1');
  prefix[4] = 1;
  prefix.writeUInt32LE(text.length, 5);
  writeFileSync(
    join(dir, 'committed', fileName(identifier)),
    Buffer.concat([prefix, text, ...values]),
    {
      mode: 0o600,
    },
  );
}

describe('FileStorage labels', () => {
  it('keeps the label in the pack header, across a reopen', async () => {
    const dir = fresh();
    const storage = await openRaw(dir);
    await commit(storage, 'labelled', { v: 1 }, '{"classes":["Order"]} ✓');
    await commit(storage, 'plain', { v: 1 });
    const again = await openRaw(dir);
    const labelled = await again.loadCheckpoint('labelled');
    expect(labelled.label).toBe('{"classes":["Order"]} ✓');
    await labelled.release();
    const plain = await again.loadCheckpoint('plain');
    expect(plain.label).toBeUndefined();
    await plain.release();
  });

  it('reads a pack written without a label field (older packs)', async () => {
    const dir = fresh();
    const storage = await openRaw(dir);
    writePack(dir, 'old', { identifier: 'old', createdAt: new Date(0).toISOString(), keys: [] });
    const loaded = await storage.loadCheckpoint('old');
    expect(loaded.label).toBeUndefined();
    expect(loaded.createdAt.getTime()).toBe(0);
    await loaded.release();
  });

  for (const [what, label, problem] of [
    ['a number', 42, 'its label is number, not a string'],
    ['null', null, 'its label is null, not a string'],
    ['an object', { a: 1 }, 'its label is object, not a string'],
    [
      'a string of 65,537 characters',
      'x'.repeat(65_537),
      'its label is 65537 characters long, more than the 65536 a label holds',
    ],
  ] as const) {
    it(`refuses a pack header whose label is ${what} with Deserialize`, async () => {
      const dir = fresh();
      const storage = await openRaw(dir);
      const createdAt = new Date(0).toISOString();
      writePack(dir, 'hostile', { identifier: 'hostile', createdAt, keys: [], label });
      const error = await storage.loadCheckpoint('hostile').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CheckpointError);
      expect((error as CheckpointError).kind).toBe('Deserialize');
      expect((error as CheckpointError).message).toBe(
        `The checkpoint file ${join(dir, 'committed', 'hostile')} is damaged: ${problem}. Restore it from a backup or remove the checkpoint.`,
      );
    });
  }

  it('accepts a label of exactly 65,536 characters', async () => {
    const dir = fresh();
    const storage = await openRaw(dir);
    await commit(storage, 'longest', {}, 'y'.repeat(65_536));
    const loaded = await (await openRaw(dir)).loadCheckpoint('longest');
    expect(loaded.label).toHaveLength(65_536);
    await loaded.release();
  });

  it('refuses a pack header whose creation time is not a date', async () => {
    const dir = fresh();
    const storage = await openRaw(dir);
    writePack(dir, 'when', { identifier: 'when', createdAt: 'yesterday', keys: [] });
    const error = await storage.loadCheckpoint('when').catch((e: unknown) => e);
    expect((error as CheckpointError).kind).toBe('Deserialize');
    expect((error as CheckpointError).message).toContain(
      'its header\'s creation time "yesterday" is not a date',
    );
  });
});

describe('FileStorage summarizeCheckpoints', () => {
  it('gives keys, value sizes, creation time and label from the pack header, in the order asked', async () => {
    const dir = fresh();
    const storage = await openRaw(dir);
    await commit(storage, 'b', { zeta: 'x'.repeat(300), alpha: 1 }, 'label of b');
    await commit(storage, 'a', {});
    const { summaries, damaged } = await storage.summarizeCheckpoints(['b', 'missing', 'a']);
    expect(damaged).toEqual([]);
    expect(summaries.map((s) => s.identifier)).toEqual(['b', 'a']);
    const loaded = await storage.loadCheckpoint('b');
    expect(summaries[0].createdAt).toEqual(loaded.createdAt);
    expect(summaries[0].keys).toEqual(['alpha', 'zeta']);
    expect(summaries[0].label).toBe('label of b');
    expect(summaries[0].sizes).toEqual(
      new Map([
        ['alpha', (await loaded.getBytes('alpha')).byteLength],
        ['zeta', (await loaded.getBytes('zeta')).byteLength],
      ]),
    );
    await loaded.release();
    expect(summaries[1]).toMatchObject({ identifier: 'a', keys: [] });
    expect(summaries[1].label).toBeUndefined();
  });

  it('summarizes a checkpoint stored under a hashed name', async () => {
    const storage = await openRaw(fresh());
    const long = 'long-'.repeat(50);
    await commit(storage, long, { k: 1 }, 'long one');
    const { summaries } = await storage.summarizeCheckpoints([long]);
    expect(summaries).toMatchObject([{ identifier: long, keys: ['k'], label: 'long one' }]);
  });

  it('keeps the order asked with more checkpoints than it reads at once', async () => {
    const dir = fresh();
    const storage = await openRaw(dir);
    const ids = Array.from({ length: 50 }, (_, i) => `n${String(i).padStart(2, '0')}`);
    for (const id of ids) await commit(storage, id, { id });
    const asked = [...ids].reverse();
    const { summaries } = await storage.summarizeCheckpoints(asked);
    expect(summaries.map((s) => s.identifier)).toEqual(asked);
  });

  it('reads no value: a pack with a 1 GiB value is summarized in bounded memory', async () => {
    const dir = fresh();
    const storage = await openRaw(dir);
    const GiB = 1024 ** 3;
    const createdAt = new Date(0).toISOString();
    writePack(dir, 'huge', { identifier: 'huge', createdAt, keys: [['v', 0, GiB]] });
    const path = join(dir, 'committed', 'huge');
    truncateSync(path, readFileSync(path).length + GiB); // sparse: no disk used
    const before = process.memoryUsage().arrayBuffers;
    const { summaries } = await storage.summarizeCheckpoints(['huge']);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024);
    expect(summaries[0].sizes).toEqual(new Map([['v', GiB]]));
  });

  it('reports a damaged header, a moved pack and a link as damaged, and lists the rest', async () => {
    const dir = fresh();
    const storage = await openRaw(dir);
    for (const id of ['good', 'cut', 'moved']) await commit(storage, id, { id });
    truncateSync(join(dir, 'committed', 'cut'), 20);
    writeFileSync(join(dir, 'committed', 'moved'), readFileSync(join(dir, 'committed', 'good')));
    symlinkSync(join(dir, 'committed', 'good'), join(dir, 'committed', 'linked'));
    const { summaries, damaged } = await storage.summarizeCheckpoints([
      'cut',
      'good',
      'moved',
      'linked',
    ]);
    expect(summaries.map((s) => s.identifier)).toEqual(['good']);
    expect(damaged.map((d) => [d.identifier, d.error.kind])).toEqual([
      ['cut', 'Deserialize'],
      ['moved', 'Integrity'],
      ['linked', 'Deserialize'],
    ]);
    expect(damaged[0].error.message).toBe(
      `The checkpoint file ${join(dir, 'committed', 'cut')} is damaged: its header runs past the end of the file. Restore it from a backup or remove the checkpoint.`,
    );
    expect(damaged[1].error.message).toContain('holds checkpoint "good"');
    expect(damaged[2].error.message).toContain('is a symbolic link, not a checkpoint file');
  });

  it('refuses an invalid identifier like loadCheckpoint does', async () => {
    const storage = await openRaw(fresh());
    const error = await storage.summarizeCheckpoints(['ok', '']).catch((e: unknown) => e);
    expect((error as CheckpointError).kind).toBe('InvalidIdentifier');
  });

  it('passes through FileStorage.open() (guarded)', async () => {
    const dir = fresh();
    const raw = await openRaw(dir);
    await commit(raw, 'x', { k: 1 }, 'L');
    const guarded = await FileStorage.open(dir);
    if (!hasSummaryListing(guarded)) throw new Error('the guard hides summaries');
    const { summaries } = await guarded.summarizeCheckpoints(['x']);
    expect(summaries[0]).toMatchObject({ identifier: 'x', keys: ['k'], label: 'L' });
    expect(summaries[0].sizes?.get('k')).toBeGreaterThan(0);
    await guarded.close();
  });
});

describe('FileStorage prefix listing and its cache', () => {
  it('answers as a full listing filtered would, for every option', async () => {
    const dir = fresh();
    const storage = await openRaw(dir);
    const ids = ['a', 'a:', 'a:1', 'a:10', 'a:2', 'a;', 'ab', 'b:1', 'é:1', 'Z', 'x'.repeat(250)];
    for (const id of ids) await commit(storage, id, {});
    const prefixes = ['', 'a', 'a:', 'a:1', 'b', 'é', 'x', 'nothing', 'a:2z'];
    const befores = [undefined, 'a:10', 'a:2', 'b', '', 'zzz'];
    for (const prefix of prefixes) {
      for (const before of befores) {
        for (const limit of [undefined, 0, 1, 2, 100]) {
          for (const descending of [false, true]) {
            const options = { before, limit, descending };
            expect(await storage.checkpointIdentifiersWithPrefix(prefix, options)).toEqual(
              selectWithPrefix(ids, prefix, options),
            );
          }
        }
      }
    }
  });

  it('refuses bad options with Other', async () => {
    const storage = await openRaw(fresh());
    for (const bad of [{ limit: -1 }, { limit: 1.5 }, { before: 3 as unknown as string }]) {
      const error = await storage
        .checkpointIdentifiersWithPrefix('a', bad)
        .catch((e: unknown) => e);
      expect((error as CheckpointError).kind).toBe('Other');
    }
  });

  it('sees at once what another storage object commits and removes in the same folder', async () => {
    const dir = fresh();
    const reader = await openRaw(dir);
    const writer = await openRaw(dir);
    // Each change lands right after a listing, within the same tick of the file clock.
    for (let i = 0; i < 100; i++) {
      const id = `s:${String(i).padStart(3, '0')}`;
      expect(
        await reader.checkpointIdentifiersWithPrefix('s:', { descending: true, limit: 1 }),
      ).toEqual(i === 0 ? [] : [`s:${String(i - 1).padStart(3, '0')}`]);
      await commit(writer, id, {});
      expect(
        await reader.checkpointIdentifiersWithPrefix('s:', { descending: true, limit: 1 }),
      ).toEqual([id]);
      expect(await reader.checkpointIdentifiers()).toContain(id);
    }
    for (let i = 99; i >= 0; i--) {
      const id = `s:${String(i).padStart(3, '0')}`;
      await reader.checkpointIdentifiers();
      await writer.removeCheckpoint(id);
      expect(await reader.checkpointIdentifiers()).not.toContain(id);
    }
  });

  it('sees a file removed or added by hand after a quiet spell', async () => {
    const dir = fresh();
    const storage = await openRaw(dir);
    await commit(storage, 'p:1', {});
    await commit(storage, 'p:2', {});
    await new Promise((r) => setTimeout(r, 300)); // past the racy margin: the cache is trusted
    expect(await storage.checkpointIdentifiersWithPrefix('p:')).toEqual(['p:1', 'p:2']);
    unlinkSync(join(dir, 'committed', fileName('p:2')));
    expect(await storage.checkpointIdentifiersWithPrefix('p:')).toEqual(['p:1']);
    await new Promise((r) => setTimeout(r, 300));
    expect(await storage.checkpointIdentifiers()).toEqual(['p:1']);
    linkSync(join(dir, 'committed', fileName('p:1')), join(dir, 'committed', fileName('p:3')));
    expect(await storage.checkpointIdentifiers()).toEqual(['p:1', 'p:3']);
  });

  it('reports damaged entries through onDamaged on every listing, cached or not', async () => {
    const dir = fresh();
    const seen: string[] = [];
    const storage = await FileStorage.openRaw(dir, { onDamaged: (e) => seen.push(e.name) });
    opened.push(storage);
    await commit(storage, 'q:1', {});
    symlinkSync('/etc/passwd', join(dir, 'committed', fileName('q:2')));
    await new Promise((r) => setTimeout(r, 300));
    expect(await storage.checkpointIdentifiersWithPrefix('q:')).toEqual(['q:1']);
    expect(await storage.checkpointIdentifiersWithPrefix('q:')).toEqual(['q:1']);
    expect(seen).toEqual(['q%3A2', 'q%3A2']);
  });

  it('hands out copies: changing an answer changes no later one', async () => {
    const storage = await openRaw(fresh());
    await commit(storage, 'c:1', {});
    const first = await storage.checkpointIdentifiers();
    first.push('intruder');
    const prefixed = await storage.checkpointIdentifiersWithPrefix('c:');
    prefixed.push('intruder');
    expect(await storage.checkpointIdentifiers()).toEqual(['c:1']);
    expect(await storage.checkpointIdentifiersWithPrefix('c:')).toEqual(['c:1']);
  });

  it('fails with Io when committed/ is gone, and Released once closed', async () => {
    const dir = fresh();
    const storage = await FileStorage.openRaw(dir);
    rmSync(join(dir, 'committed'), { recursive: true });
    const error = await storage.checkpointIdentifiersWithPrefix('a').catch((e: unknown) => e);
    expect((error as CheckpointError).kind).toBe('Io');
    await storage.close();
    const closed = await storage.checkpointIdentifiersWithPrefix('a').catch((e: unknown) => e);
    expect((closed as CheckpointError).kind).toBe('Released');
  });
});

describe('FileStorage summaries while the folder changes', () => {
  it('never serves the summary of a removed checkpoint for one committed anew under its name', async () => {
    const dir = fresh();
    const reader = await openRaw(dir);
    const writer = await openRaw(dir);
    for (let round = 0; round < 20; round++) {
      await commit(writer, 'again', { round }, `round ${round}`);
      const { summaries } = await reader.summarizeCheckpoints(['again']);
      expect(summaries[0].label).toBe(`round ${round}`);
      await writer.removeCheckpoint('again');
      expect((await reader.summarizeCheckpoints(['again'])).summaries).toEqual([]);
    }
    // Once the folder is quiet the listing and the summary are cached; a remove and a new
    // commit under the same name must still be seen.
    await commit(writer, 'again', {}, 'before');
    await new Promise((r) => setTimeout(r, 300));
    expect((await reader.summarizeCheckpoints(['again'])).summaries[0].label).toBe('before');
    expect((await reader.summarizeCheckpoints(['again'])).summaries[0].label).toBe('before');
    await writer.removeCheckpoint('again');
    await commit(writer, 'again', {}, 'after');
    expect((await reader.summarizeCheckpoints(['again'])).summaries[0].label).toBe('after');
  });

  it('hands out copies: changing a summary changes no later one', async () => {
    const storage = await openRaw(fresh());
    await commit(storage, 'copied', { k: 1 });
    await new Promise((r) => setTimeout(r, 300));
    const first = (await storage.summarizeCheckpoints(['copied'])).summaries[0];
    (first.keys as string[]).push('intruder');
    (first.sizes as Map<string, number>).set('intruder', 1);
    const second = (await storage.summarizeCheckpoints(['copied'])).summaries[0];
    expect(second.keys).toEqual(['k']);
    expect([...second.sizes!.keys()]).toEqual(['k']);
  });
});

describe('FileStorage staging inside committed/', () => {
  /** The hidden name a process with `pid` on this host stages a commit under. */
  const hiddenStaging = (pid: number) =>
    `.${encodeURIComponent(hostname())}-${pid}-0123456789abcdef.pack`;

  it('keeps a few staging files ready while open, and leaves none behind on close', async () => {
    for (const durability of ['durable', 'atomic'] as const) {
      const dir = fresh();
      const storage = await FileStorage.openRaw(dir, { durability });
      await Promise.all(Array.from({ length: 16 }, (_, i) => commit(storage, `g-${i}`, { i })));
      const hidden = readdirSync(join(dir, 'committed')).filter((n) => n.startsWith('.'));
      expect(hidden.length).toBeGreaterThan(0);
      expect(hidden.length).toBeLessThanOrEqual(4);
      for (const name of hidden) {
        expect(name).toMatch(
          new RegExp(`^\\.${encodeURIComponent(hostname())}-${process.pid}-[0-9a-f]{16}\\.pack$`),
        );
        expect(statSync(join(dir, 'committed', name)).size).toBe(0);
      }
      expect(await storage.checkpointIdentifiers()).toHaveLength(16);
      await storage.close();
      expect(readdirSync(join(dir, 'committed')).sort()).toEqual(
        Array.from({ length: 16 }, (_, i) => `g-${i}`).sort(),
      );
      expect(readdirSync(join(dir, 'staging'))).toEqual([]);
    }
  });

  it('sweeps the hidden staging file of a dead process on open, and never lists it', async () => {
    const dir = fresh();
    await (await openRaw(dir)).close();
    // A pid that is not running: the child has exited.
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    const dead = hiddenStaging(Number(child.stdout.toString()));
    writeFileSync(join(dir, 'committed', dead), 'half a pack');
    const seen: string[] = [];
    const storage = await FileStorage.openRaw(dir, { onDamaged: (e) => seen.push(e.name) });
    opened.push(storage);
    expect(readdirSync(join(dir, 'committed'))).toEqual([]);
    expect(await storage.checkpointIdentifiers()).toEqual([]);
    expect(seen).toEqual([]);
  });

  it('leaves the hidden staging file of a live process alone, and lists past it silently', async () => {
    const dir = fresh();
    const live = hiddenStaging(process.ppid); // our parent runs
    await (await openRaw(dir)).close();
    writeFileSync(join(dir, 'committed', live), 'a commit in progress');
    writeFileSync(join(dir, 'committed', '.foreign'), 'not ours');
    const seen: string[] = [];
    const storage = await FileStorage.openRaw(dir, { onDamaged: (e) => seen.push(e.name) });
    await commit(storage, 'real', {});
    expect(await storage.checkpointIdentifiers()).toEqual(['real']);
    // A hidden name that is not a staging file is reported, as any foreign entry.
    expect(seen).toEqual(['.foreign']);
    expect((await storage.listDamaged()).map((d) => d.name)).toEqual(['.foreign']);
    await storage.close();
    expect(readdirSync(join(dir, 'committed')).sort()).toEqual(['.foreign', live, 'real'].sort());
  });
});
