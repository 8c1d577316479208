import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeValue, encodeValue, FileStorage } from 'checkpointable';
import { newKey, openFileChain, saveOrders } from './cli-fixtures';
import { buildCli, ROOT, runBin, tempDir } from './cli-harness';

let bin: string;
const dirs: string[] = [];

beforeAll(() => {
  bin = buildCli();
});
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function dir(prefix: string): string {
  const d = tempDir(prefix);
  dirs.push(d);
  return d;
}

/** Every checkpoint's keys and unwrapped bytes, and the creation times `ls` reports. */
async function snapshot(path: string, args: string[], env: Record<string, string>) {
  const ls = await runBin(bin, ['ls', '--json', '--storage', `file:${path}`, ...args], env);
  expect(ls.code).toBe(0);
  const listed = JSON.parse(ls.stdout) as {
    checkpoints: { identifier: string; createdAt: string; keys: string[] }[];
  };
  return listed.checkpoints.map(({ identifier, createdAt, keys }) => ({
    identifier,
    createdAt,
    keys,
  }));
}

/** The records of an archive: type, name, offset of the record and of its payload length. */
function records(bytes: Buffer): { type: string; name: string; at: number; lengthAt: number }[] {
  const out = [];
  for (let at = 8; at < bytes.length;) {
    const nameLength = bytes.readUInt16LE(at + 1);
    const lengthAt = at + 3 + nameLength;
    const payload = Number(bytes.readBigUInt64LE(lengthAt));
    out.push({
      type: String.fromCharCode(bytes[at]),
      name: bytes.toString('utf8', at + 3, lengthAt),
      at,
      lengthAt,
    });
    at = lengthAt + 8 + payload + 32;
  }
  return out;
}

/** Runs the bin and sends `signal` once stdout shows `line`. */
function stopAfterFirst(
  args: string[],
  line: string,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: { ...process.env, NODE_PATH: join(ROOT, 'node_modules') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (stdout.includes(line)) child.kill(signal);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, sig) => resolve({ code, signal: sig, stderr }));
  });
}

/**
 * A copy of an archive with the manifest of checkpoint `id` changed by `change`, its record
 * digest recomputed so that the archive stays well-formed.
 */
function rewriteManifest(
  archive: Buffer,
  recs: ReturnType<typeof records>,
  id: string,
  change: (manifest: { keys: string[] }) => unknown,
): Buffer {
  const opening = recs.findIndex((r) => r.type === 'C' && r.name === id);
  const record = recs.slice(opening).find((r) => r.name === '@checkpointable.manifest')!;
  const length = Number(archive.readBigUInt64LE(record.lengthAt));
  const payloadAt = record.lengthAt + 8;
  const manifest = decodeValue(archive.subarray(payloadAt, payloadAt + length)) as {
    keys: string[];
  };
  const payload = encodeValue(change(manifest));
  const head = Buffer.from(archive.subarray(record.at, record.lengthAt + 8));
  head.writeBigUInt64LE(BigInt(payload.length), record.lengthAt - record.at);
  const digest = createHash('sha256').update(head).update(payload).digest();
  return Buffer.concat([
    archive.subarray(0, record.at),
    head,
    payload,
    digest,
    archive.subarray(payloadAt + length + 32),
  ]);
}

describe('checkpointable export and import', () => {
  it('export then import into an empty storage gives back the source, re-wrapped with its chain', async () => {
    const key = newKey();
    const source = dir('cp-cli-exp-');
    const storage = await openFileChain(source, ['checksum', 'hmac'], { hmac: key });
    await saveOrders(storage, ['order-1', 'order-2', 'order 3']);
    const raw = await storage.createCheckpoint('bytes-only');
    await raw.putBytes('blob', new Uint8Array([1, 2, 3])); // not codec data: kept as it is
    await (await storage.commitCheckpoint(raw)).release();
    await storage.close();
    const archive = join(dir('cp-cli-arc-'), 'backup.cpar');
    const env = { CHECKPOINT_HMAC_KEY: key, CHECKPOINT_WRAPPERS: 'checksum,hmac' };

    const exported = await runBin(bin, ['export', '--storage', `file:${source}`, archive], env);
    expect(exported.stderr).toBe('');
    expect(exported.code).toBe(0);
    expect(exported.stdout).toMatch(
      /export 4\/4 order-2 exported\nexported 4 checkpoint\(s\) \([\d.]+ KiB of values\) to /,
    );
    expect(existsSync(`${archive}.partial`)).toBe(false);

    const list = await runBin(bin, ['import', archive, '--list', '--json']);
    expect(list.code).toBe(0);
    const listed = JSON.parse(list.stdout) as {
      checkpoints: { identifier: string; values: number }[];
    };
    expect(listed.checkpoints.map((c) => [c.identifier, c.values])).toEqual([
      ['bytes-only', 1],
      ['order 3', 3],
      ['order-1', 3],
      ['order-2', 3],
    ]);

    // Into an empty store with another chain and key: same checkpoints, values and times.
    const target = join(dir('cp-cli-imp-'), 'store');
    const otherKey = newKey();
    const targetEnv = {
      CHECKPOINT_ENCRYPTION_KEY: otherKey,
      CHECKPOINT_WRAPPERS: 'checksum,encrypt',
    };
    const imported = await runBin(
      bin,
      ['import', '--storage', `file:${target}`, archive],
      targetEnv,
    );
    expect(imported.stderr).toBe('');
    expect(imported.code).toBe(0);
    expect(imported.stdout).toMatch(
      /imported 4 checkpoint\(s\) \([\d.]+ KiB of values\) into file:/,
    );
    expect(await snapshot(target, [], targetEnv)).toEqual(await snapshot(source, [], env));
    const a = await openFileChain(source, ['checksum', 'hmac'], { hmac: key });
    const b = await openFileChain(target, ['checksum', 'encrypt'], { encrypt: otherKey });
    for (const id of await a.checkpointIdentifiers()) {
      const [x, y] = [await a.loadCheckpoint(id), await b.loadCheckpoint(id)];
      for (const k of await x.keys()) {
        if (k === '@checkpointable.manifest') continue;
        expect(Buffer.from(await y.getBytes(k))).toEqual(Buffer.from(await x.getBytes(k)));
        if (id !== 'bytes-only') expect(await y.get(k)).toEqual(await x.get(k));
      }
      await x.release();
      await y.release();
    }
    await a.close();
    await b.close();

    // Again: refused before anything is written, or skipped.
    const again = await runBin(bin, ['import', '--storage', `file:${target}`, archive], targetEnv);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(
      'checkpointable: CheckFailed: the storage already has "bytes-only", "order 3", "order-1", "order-2"; nothing was imported. Pass --skip-existing to import only the others, or remove them first.\n',
    );
    const skip = await runBin(
      bin,
      ['import', '--storage', `file:${target}`, archive, '--skip-existing', '--json'],
      targetEnv,
    );
    expect(skip.code).toBe(0);
    expect(JSON.parse(skip.stdout)).toMatchObject({
      imported: [],
      skipped: ['bytes-only', 'order 3', 'order-1', 'order-2'],
    });

    const exists = await runBin(bin, ['export', '--storage', `file:${source}`, archive], env);
    expect(exists.code).toBe(2);
    expect(exists.stderr).toBe(
      `checkpointable: Usage: the archive ${JSON.stringify(archive)} exists; pass --force to replace it, or choose another name.\n`,
    );
  });

  it('a damaged, truncated, foreign or lying archive imports nothing and says why', async () => {
    const source = dir('cp-cli-exp-');
    const storage = await openFileChain(source, []);
    await saveOrders(storage, ['a', 'b', 'c']);
    await storage.close();
    const folder = dir('cp-cli-arc-');
    const archive = join(folder, 'good.cpar');
    expect((await runBin(bin, ['export', '--storage', `file:${source}`, archive])).code).toBe(0);
    const good = readFileSync(archive);
    const recs = records(good);
    expect(recs.map((r) => r.type).join('')).toBe('HCVVVECVVVECVVVEZ');

    const variants: [string, Buffer, string, RegExp][] = [];
    const flipped = Buffer.from(good);
    const lastValue = recs.filter((r) => r.type === 'V')[7];
    flipped[lastValue.lengthAt + 8 + 5] ^= 0x01;
    variants.push([
      'flipped',
      flipped,
      'Integrity',
      /the record at byte \d+ \("note"\) does not match its SHA-256 digest/,
    ]);
    variants.push([
      'truncated',
      good.subarray(0, good.length - 10),
      'Integrity',
      /is truncated: it ends at byte \d+, inside /,
    ]);
    const huge = Buffer.from(good);
    huge.writeBigUInt64LE(2n ** 64n - 1n, recs[2].lengthAt);
    variants.push([
      'huge',
      huge,
      'Integrity',
      /is truncated: it ends at byte \d+, inside a payload of 18446744073709551615 bytes/,
    ]);
    const foreign = Buffer.from(good);
    foreign.write('ZIP!', 0, 'latin1');
    variants.push(['foreign', foreign, 'Deserialize', /does not start with "CPAR"/]);
    const future = Buffer.from(good);
    future[4] = 2;
    variants.push([
      'future',
      future,
      'Version',
      /has format version 2; this version of checkpointable reads version 1/,
    ]);
    // A well-formed archive whose manifest names a value it does not hold: digests
    // recomputed, so only the content check can refuse it.
    const lying = rewriteManifest(good, recs, 'b', (m) => ({ ...m, keys: [...m.keys, 'ghost'] }));
    variants.push([
      'lying',
      lying,
      'Integrity',
      /The archive lists "ghost" in the manifest of checkpoint "b" but holds no such value/,
    ]);
    variants.push([
      'trailing',
      Buffer.concat([good, Buffer.from('x')]),
      'Deserialize',
      /has bytes after its end record/,
    ]);

    for (const [name, bytes, kind, message] of variants) {
      const path = join(folder, `${name}.cpar`);
      writeFileSync(path, bytes);
      const target = join(folder, `store-${name}`);
      const run = await runBin(bin, ['import', '--storage', `file:${target}`, path]);
      expect(run.code, name).toBe(1);
      expect(run.stderr, name).toMatch(
        new RegExp(`^checkpointable: ${kind}: Nothing was imported: The archive `),
      );
      expect(run.stderr, name).toMatch(message);
      expect(run.stderr.split('\n')).toHaveLength(2);
      // The store was never even opened.
      expect(existsSync(target), name).toBe(false);
    }
  });

  it('exports a 200 MB store with a peak RSS under twice its largest value; stopped or killed mid-way, leaves nothing half-written', async () => {
    const source = dir('cp-cli-big-');
    const storage = await FileStorage.openRaw(source);
    const largest = 150 * 1024 * 1024;
    // The largest last, so that a process stopped after the first one is stopped mid-way.
    const sizes = [...Array.from({ length: 5 }, () => 10 * 1024 * 1024), largest];
    for (const [i, size] of sizes.entries()) {
      const draft = await storage.createCheckpoint(`big-${i}`);
      await draft.put('payload', Buffer.alloc(size, i + 1));
      await (await storage.commitCheckpoint(draft)).release();
    }
    await storage.close();
    const archive = join(dir('cp-cli-arc-'), 'big.cpar');
    // GNU time reports the child's peak resident set size (kB) on its last stderr line.
    const peakKiB = await new Promise<number>((resolve, reject) => {
      const child = spawn(
        '/usr/bin/time',
        ['-f', '%M', process.execPath, bin, 'export', '--storage', `file:${source}`, archive],
        {
          env: { ...process.env, NODE_PATH: join(ROOT, 'node_modules') },
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => {
        if (code !== 0) reject(new Error(`export exited ${code}: ${stderr}`));
        else resolve(Number(stderr.trim().split('\n').pop()));
      });
    });
    const total = sizes.reduce((a, b) => a + b, 0);
    expect(statSync(archive).size).toBeGreaterThan(total);
    console.log(
      `export of ${total >> 20} MiB: peak RSS ${peakKiB >> 10} MiB (largest value ${largest >> 20} MiB)`,
    );
    expect(peakKiB * 1024).toBeLessThan(2 * largest);
    // The whole archive checks out, hashed in pieces.
    const list = await runBin(bin, ['import', archive, '--list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/6 checkpoint\(s\)\n$/);

    // Stopped mid-export: no archive, no partial file left behind.
    const stopped = join(dir('cp-cli-arc-'), 'stopped.cpar');
    const exportRun = await stopAfterFirst(
      ['export', '--storage', `file:${source}`, stopped],
      'export 1/6',
    );
    expect(exportRun.code).toBe(130);
    expect(exportRun.stderr).toBe(
      'checkpointable: Interrupted: export stopped by SIGTERM; no archive was written.\n',
    );
    expect(existsSync(stopped)).toBe(false);
    expect(existsSync(`${stopped}.partial`)).toBe(false);

    // Killed mid-copy: the target holds whole checkpoints only, and the same command with
    // --skip-existing copies the rest.
    const target = join(dir('cp-cli-copy-'), 'store');
    const killed = await stopAfterFirst(
      ['cp', '--storage', `file:${source}`, '--to', `file:${target}`],
      'copy 1/6',
      'SIGKILL',
    );
    expect(killed.signal).toBe('SIGKILL');
    const partialTarget = await FileStorage.openRaw(target);
    const copiedFirst = await partialTarget.checkpointIdentifiers();
    await partialTarget.close();
    expect(copiedFirst.length).toBeGreaterThanOrEqual(1);
    expect(copiedFirst.length).toBeLessThan(6);
    const resumed = await runBin(bin, [
      'cp',
      '--storage',
      `file:${source}`,
      '--to',
      `file:${target}`,
      '--skip-existing',
    ]);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain(`copied ${6 - copiedFirst.length} checkpoint(s)`);
    const a = await FileStorage.openRaw(source);
    const b = await FileStorage.openRaw(target);
    expect(await b.checkpointIdentifiers()).toEqual(await a.checkpointIdentifiers());
    for (const id of await a.checkpointIdentifiers()) {
      const [x, y] = [await a.loadCheckpoint(id), await b.loadCheckpoint(id)];
      const digest = async (c: typeof x) =>
        createHash('sha256')
          .update(await c.getBytes('payload'))
          .digest('hex');
      expect(await digest(y)).toBe(await digest(x));
      await x.release();
      await y.release();
    }
    await a.close();
    await b.close();
  });
});
