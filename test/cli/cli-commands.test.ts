import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileStorage } from 'checkpointable';
import { newKey, openFileChain, saveOrders } from './cli-fixtures';
import { buildCli, runBin, tempDir } from './cli-harness';

const IDS = ['order-1', 'order-2', 'order-3', 'order-4', 'order-5'];

let bin: string;
const dirs: string[] = [];

beforeAll(() => {
  bin = buildCli();
});
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A file store of five manager checkpoints through `wrappers`. */
async function fileStore(wrappers: string[], keys: { hmac?: string } = {}): Promise<string> {
  const dir = tempDir('cp-cli-');
  dirs.push(dir);
  const storage = await openFileChain(dir, wrappers, keys);
  await saveOrders(storage, IDS);
  await storage.close();
  return dir;
}

/**
 * Flips the last byte of one value in a checkpoint's pack file (layout in
 * src/file/file-pack.ts): the value's bytes, damaged at rest.
 */
export function damage(dir: string, id: string, key = 'order'): void {
  const path = join(dir, 'committed', encodeURIComponent(id));
  const bytes = readFileSync(path);
  const headerLength = bytes.readUInt32LE(5);
  const header = JSON.parse(bytes.toString('utf8', 9, 9 + headerLength)) as {
    keys: [string, number, number][];
  };
  const [, offset, length] = header.keys.find(([k]) => k === key)!;
  bytes[9 + headerLength + offset + length - 1] ^= 0x01;
  writeFileSync(path, bytes);
}

describe('checkpointable bin on a file store', () => {
  it('prints help with examples for the program and each command, exit 0', async () => {
    const top = await runBin(bin, ['--help']);
    expect(top.code).toBe(0);
    for (const name of ['ls', 'show', 'verify', 'cp', 'export', 'import', 'rm', 'prune']) {
      expect(top.stdout).toContain(`  ${name} `);
      const help = await runBin(bin, [name, '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain(`Usage: checkpointable ${name}`);
      expect(help.stdout).toContain('Examples:');
      expect(help.stdout).toContain(`$ checkpointable ${name}`);
    }
  });

  it('answers usage errors with one line naming the kind and the fix, exit 2', async () => {
    const dir = await fileStore([]);
    const cases: [string[], Record<string, string>, string][] = [
      [[], {}, 'Usage: checkpointable'],
      [
        ['frobnicate'],
        {},
        "checkpointable: Usage: unknown command 'frobnicate'; run `checkpointable --help` for the usage.\n",
      ],
      [
        ['cp', '--storage', `file:${dir}`, '--to', `file:${dir}/../${dir.split('/').pop()}`],
        {},
        `checkpointable: Usage: --to names the source storage itself (file:${dir}/../${dir.split('/').pop()}); copy to another one.\n`,
      ],
      [
        ['show', '--storage', 'file:/tmp'],
        {},
        "checkpointable: Usage: missing required argument 'id'; run `checkpointable show --help` for the usage.\n",
      ],
      [
        ['ls'],
        {},
        'checkpointable: Usage: no storage given; pass --storage <url> (file:./dir, postgres://..., redis://...) or set CHECKPOINT_STORAGE.\n',
      ],
      [
        ['ls', '--bogus'],
        {},
        "checkpointable: Usage: unknown option '--bogus'; run `checkpointable ls --help` for the usage.\n",
      ],
      [
        ['ls', '--storage', 'memory:'],
        {},
        'checkpointable: Usage: --storage memory: names an empty store in every new process; use file:, postgres:// or redis://.\n',
      ],
      [
        ['ls', '--storage', `file:${dir}`, '--wrappers', 'checksum,zip'],
        {},
        'checkpointable: Usage: --wrappers names "zip", which is not a wrapper; list some of checksum, checksum:crc32, hmac, encrypt, guard (innermost first, comma-separated), or none.\n',
      ],
      [
        ['ls', '--storage', `file:${dir}`, '--wrappers', 'hmac'],
        {},
        'checkpointable: Usage: the hmac wrapper needs a key; set CHECKPOINT_HMAC_KEY or pass --hmac-key-file <path> (keys are never taken as arguments).\n',
      ],
      [
        ['ls', '--storage', `file:${dir}`, '--wrappers', 'hmac'],
        { CHECKPOINT_HMAC_KEY: 'short' },
        'checkpointable: Initialization: The wrapper chain entry wrappers[0]: HmacWrapper: the key "default" is shorter than 16 bytes; use at least 16 (better 32) random bytes, e.g. from `openssl rand -base64 32`.\n',
      ],
      [
        ['ls', '--storage', `file:${dir}/missing`],
        {},
        `checkpointable: Usage: there is no folder ${JSON.stringify(`${dir}/missing`)} for --storage; check the path (only cp --to and import create a new store).\n`,
      ],
      [
        ['ls', '--storage', 'ftp://host/x'],
        {},
        "checkpointable: Initialization: The checkpoint storage is configured as a 'ftp:' URL; use one of: 'memory:', 'file:./path', 'postgres://...', 'redis://...', a Storage object or a factory function.\n",
      ],
      [
        ['prune', '--storage', `file:${dir}`],
        {},
        'checkpointable: Usage: prune needs --keep-last <n>, --older-than <age> or both; it removes nothing without a rule.\n',
      ],
      [
        ['prune', '--storage', `file:${dir}`, '--older-than', 'last week'],
        {},
        'checkpointable: Usage: --older-than "last week" is neither an age (such as 90s, 15m, 12h, 7d, 2w) nor an ISO date (such as 2026-11-30 or 2026-11-30T12:00:00Z).\n',
      ],
      [['show', '--storage', `file:${dir}`, 'a/b'], {}, 'checkpointable: Usage:'],
    ];
    for (const [args, env, expected] of cases) {
      const run = await runBin(bin, args, env);
      expect(run.code, args.join(' ')).toBe(2);
      if (expected.endsWith('\n')) expect(run.stderr).toBe(expected);
      else expect(run.stderr).toContain(expected);
      expect(run.stdout).toBe('');
    }
    expect(existsSync(`${dir}/missing`)).toBe(false);
  });

  it('ls lists identifiers, creation times, keys, classes with versions and sizes', async () => {
    const dir = await fileStore(['checksum']);
    const text = await runBin(bin, ['ls', '--storage', `file:${dir}`, '--wrappers', 'checksum']);
    expect(text.code).toBe(0);
    const lines = text.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^IDENTIFIER\s+CREATED\s+SIZE\s+CLASSES\s+KEYS$/);
    expect(lines.slice(1, 6).map((l) => l.split(/\s+/)[0])).toEqual(IDS);
    expect(lines[1]).toMatch(
      /order-1\s+\d{4}-\d\d-\d\dT[\d:.]+Z\s+[\d.]+ (B|KiB)\s+Customer@1,Order@2\s+note,order$/,
    );
    expect(lines[6]).toBe('5 checkpoint(s)');

    const json = await runBin(bin, [
      'ls',
      '--storage',
      `file:${dir}`,
      '--wrappers',
      'checksum',
      '--json',
      '--limit',
      '2',
    ]);
    expect(json.code).toBe(0);
    const listed = JSON.parse(json.stdout) as {
      checkpoints: Record<string, unknown>[];
      failures: unknown[];
    };
    expect(listed.failures).toEqual([]);
    expect(listed.checkpoints.map((c) => c.identifier)).toEqual(['order-4', 'order-5']);
    const storage = await FileStorage.openRaw(dir);
    const saved = await storage.loadCheckpoint('order-5');
    let atRest = 0;
    for (const key of await saved.keys()) atRest += (await saved.getBytes(key)).byteLength;
    expect(listed.checkpoints[1]).toEqual({
      identifier: 'order-5',
      createdAt: saved.createdAt.toISOString(),
      storedAt: saved.createdAt.toISOString(),
      copied: false,
      keys: ['note', 'order'],
      classes: [
        { name: 'Customer', version: 1 },
        { name: 'Order', version: 2 },
      ],
      bytes: atRest,
      series: null,
    });
    await saved.release();
    await storage.close();

    const old = await runBin(bin, [
      'ls',
      '--storage',
      `file:${dir}`,
      '--wrappers',
      'checksum',
      '--before',
      '2026-01-01',
    ]);
    expect(old.stdout).toBe('IDENTIFIER  CREATED  SIZE  CLASSES  KEYS\n0 checkpoint(s)\n');
    const quick = await runBin(bin, [
      'ls',
      '--storage',
      `file:${dir}`,
      '--wrappers',
      'checksum',
      '--no-sizes',
      '--json',
    ]);
    const quickRows = (JSON.parse(quick.stdout) as { checkpoints: { bytes: unknown }[] })
      .checkpoints;
    expect(quickRows.map((r) => r.bytes)).toEqual([null, null, null, null, null]);
    const before = await runBin(bin, [
      'ls',
      '--storage',
      `file:${dir}`,
      '--wrappers',
      'checksum',
      '--before',
      '0s',
      '--json',
    ]);
    expect((JSON.parse(before.stdout) as { checkpoints: unknown[] }).checkpoints).toHaveLength(5);
  });

  it('show prints values with their types and class names; --json keeps the types', async () => {
    const dir = await fileStore([]);
    const text = await runBin(bin, ['show', '--storage', `file:${dir}`, 'order-2']);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('checkpoint  order-2\ncreated     ');
    expect(text.stdout).toContain('classes     Customer@1, Order@2');
    expect(text.stdout).toMatch(/key order \([\d.]+ (B|KiB)\)\nOrder \{\n {2}id: 2,/);
    expect(text.stdout).toContain(
      "lines: Map(2) { 'apple' => 3n, 'pear' => 12345678901234567890n }",
    );
    expect(text.stdout).toContain("tags: Set(2) { 'rush', 'gift' }");
    expect(text.stdout).toContain('placedAt: 2026-11-02T12:00:00.000Z');
    expect(text.stdout).toContain("customer: <ref *1> Customer {\n    name: 'Bob',");
    expect(text.stdout).toContain('[Circular *');
    expect(text.stdout).toContain('n: -0');
    expect(text.stdout).toContain('big: 100000000000000000000n');

    const one = await runBin(bin, [
      'show',
      '--storage',
      `file:${dir}`,
      'order-2',
      'note',
      '--json',
    ]);
    expect(one.code).toBe(0);
    const shown = JSON.parse(one.stdout) as { values: Record<string, unknown> };
    expect(Object.keys(shown.values)).toEqual(['note']);
    expect(shown.values.note).toEqual({
      text: 'note 1',
      at: { $date: '2026-01-01T00:00:00.000Z' },
      n: { $number: '-0' },
      big: { $bigint: '100000000000000000000' },
    });
    const all = JSON.parse(
      (await runBin(bin, ['show', '--storage', `file:${dir}`, 'order-2', '--json'])).stdout,
    ) as {
      values: { order: { $class: string; fields: Record<string, unknown> } };
    };
    const order = all.values.order;
    expect(order.$class).toBe('Order');
    expect(order.fields.lines).toEqual({
      $map: [
        ['apple', { $bigint: '3' }],
        ['pear', { $bigint: '12345678901234567890' }],
      ],
    });
    expect(order.fields.tags).toEqual({ $set: ['rush', 'gift'] });
    const bob = order.fields.customer as {
      $class: string;
      fields: { referredBy: { fields: { referredBy: unknown } } };
    };
    expect(bob.$class).toBe('Customer');
    expect(bob.fields.referredBy.fields.referredBy).toEqual({ $ref: '$.customer' });

    const missing = await runBin(bin, ['show', '--storage', `file:${dir}`, 'order-9']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(
      `checkpointable: NotFound: There is no checkpoint "order-9" in file:${dir}; list them with \`checkpointable ls\`.\n`,
    );
    const noKey = await runBin(bin, ['show', '--storage', `file:${dir}`, 'order-2', 'nope']);
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toBe(
      'checkpointable: KeyNotFound: Checkpoint "order-2" has no key "nope"; it has "note", "order".\n',
    );
  });

  it('show --raw prints the bytes at rest, before any wrapper', async () => {
    const dir = await fileStore(['checksum']);
    const hex = await runBin(bin, [
      'show',
      '--storage',
      `file:${dir}`,
      '--wrappers',
      'checksum',
      'order-1',
      'note',
      '--raw',
    ]);
    expect(hex.code).toBe(0);
    // The checksum envelope's magic "CPCK", then the codec's "CPV" inside it.
    expect(hex.stdout).toMatch(/key note \(\d+ bytes at rest\)\n00000000 {2}43 50 43 4b /);
    const b64 = await runBin(bin, [
      'show',
      '--storage',
      `file:${dir}`,
      'order-1',
      'note',
      '--raw',
      'base64',
      '--json',
    ]);
    const raw = JSON.parse(b64.stdout) as { values: { note: { bytes: number; base64: string } } };
    const storage = await FileStorage.openRaw(dir);
    const saved = await storage.loadCheckpoint('order-1');
    expect(Buffer.from(raw.values.note.base64, 'base64')).toEqual(
      Buffer.from(await saved.getBytes('note')),
    );
    await saved.release();
    await storage.close();
  });

  it('verify passes a sound store (exit 0) and lists each damaged checkpoint, and only those (exit 1)', async () => {
    const dir = await fileStore(['checksum']);
    const args = ['verify', '--storage', `file:${dir}`, '--wrappers', 'checksum'];
    const good = await runBin(bin, args);
    expect(good.code).toBe(0);
    expect(good.stdout).toContain('verify 1/5 order-1 ok\n');
    expect(good.stdout).toMatch(
      /verified 5 checkpoint\(s\), 15 value\(s\), [\d.]+ KiB: all good\n$/,
    );

    damage(dir, 'order-2');
    damage(dir, 'order-4');
    const bad = await runBin(bin, args);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('verify 2/5 order-2 FAILED\n');
    const failed = bad.stdout.split('\n').filter((l) => l.startsWith('FAILED '));
    expect(failed).toHaveLength(2);
    expect(failed[0]).toMatch(/^FAILED order-2 key order: Integrity: /);
    expect(failed[1]).toMatch(/^FAILED order-4 key order: Integrity: /);
    expect(bad.stderr).toBe(
      'checkpointable: CheckFailed: 2 of 5 checkpoint(s) failed verification (listed above); restore them from a backup or remove them.\n',
    );

    const json = await runBin(bin, [...args, '--json']);
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout) as {
      failed: number;
      failures: { identifier: string; key: string; kind: string }[];
    };
    expect(report.failed).toBe(2);
    expect(report.failures.map((f) => [f.identifier, f.key, f.kind])).toEqual([
      ['order-2', 'order', 'Integrity'],
      ['order-4', 'order', 'Integrity'],
    ]);
    // Only the named ones are read.
    const named = await runBin(bin, [...args, 'order-1', 'order-3', 'order-9']);
    expect(named.code).toBe(1);
    expect(named.stdout).toContain(
      `FAILED order-9: NotFound: There is no checkpoint "order-9" in file:${dir}`,
    );
    expect(named.stdout.match(/^FAILED/gm)).toHaveLength(1);
  });

  it('reads hmac keys from the environment or a key file, and never prints them', async () => {
    const key = newKey();
    const dir = await fileStore(['checksum', 'hmac'], { hmac: key });
    const keyFile = join(dir, '..', `${dir.split('/').pop()}.key`);
    writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
    dirs.push(keyFile);
    const base = ['verify', '--storage', `file:${dir}`, '--wrappers', 'checksum,hmac'];
    expect((await runBin(bin, base, { CHECKPOINT_HMAC_KEY: key })).code).toBe(0);
    expect((await runBin(bin, [...base, '--hmac-key-file', keyFile])).code).toBe(0);
    // Also through the environment alone.
    const env = await runBin(bin, ['verify'], {
      CHECKPOINT_STORAGE: `file:${dir}`,
      CHECKPOINT_WRAPPERS: 'checksum,hmac',
      CHECKPOINT_HMAC_KEY: key,
    });
    expect(env.code).toBe(0);

    const wrongKey = newKey();
    const wrong = await runBin(bin, [...base, '--json'], { CHECKPOINT_HMAC_KEY: wrongKey });
    expect(wrong.code).toBe(1);
    const report = JSON.parse(wrong.stdout) as { failed: number; failures: { kind: string }[] };
    expect(report.failed).toBe(5);
    expect(new Set(report.failures.map((f) => f.kind))).toEqual(new Set(['Integrity']));
    for (const run of [
      wrong,
      await runBin(bin, [...base, '--help'], { CHECKPOINT_HMAC_KEY: key }),
    ]) {
      expect(run.stdout + run.stderr).not.toContain(key);
      expect(run.stdout + run.stderr).not.toContain(wrongKey);
    }
    const noFile = await runBin(bin, [...base, '--hmac-key-file', `${keyFile}.nope`]);
    expect(noFile.code).toBe(2);
    expect(noFile.stderr).toBe(
      `checkpointable: Usage: cannot read the hmac key file ${JSON.stringify(`${keyFile}.nope`)} (ENOENT); check the path and its permissions.\n`,
    );
  });

  it('rm removes what it is given and lists what is not there (exit 1)', async () => {
    const dir = await fileStore([]);
    const run = await runBin(bin, [
      'rm',
      '--storage',
      `file:${dir}`,
      'order-1',
      'order-9',
      'order-3',
    ]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe(
      `removed order-1\nFAILED order-9: NotFound: There is no checkpoint "order-9" in file:${dir}; list them with \`checkpointable ls\`.\nremoved order-3\n`,
    );
    const storage = await FileStorage.openRaw(dir);
    expect(await storage.checkpointIdentifiers()).toEqual(['order-2', 'order-4', 'order-5']);
    await storage.close();
  });

  it('prune keeps the newest N, honours --older-than, --series and --dry-run', async () => {
    const dir = tempDir('cp-cli-');
    dirs.push(dir);
    const series = [1, 2, 3, 4].map((n) => `@series:orders:${String(n).padStart(12, '0')}`);
    const storage = await openFileChain(dir, []);
    await saveOrders(storage, ['plain-1', ...series, '@series:other:000000000001', 'plain-2']);
    await storage.close();
    const ids = async () => {
      const s = await FileStorage.openRaw(dir);
      const out = await s.checkpointIdentifiers();
      await s.close();
      return out;
    };
    const before = await ids();
    const store = ['--storage', `file:${dir}`];

    const dry = await runBin(bin, [
      'prune',
      ...store,
      '--series',
      'orders',
      '--keep-last',
      '1',
      '--dry-run',
    ]);
    expect(dry.code).toBe(0);
    expect(dry.stdout.match(/^would remove (@\S+)/gm)).toEqual(
      series.slice(0, 3).map((id) => `would remove ${id}`),
    );
    expect(dry.stdout).toMatch(/would remove 3 checkpoint\(s\), kept 1\n$/);
    expect(await ids()).toEqual(before);

    const young = await runBin(bin, ['prune', ...store, '--keep-last', '0', '--older-than', '7d']);
    expect(young.code).toBe(0);
    expect(young.stdout).toBe('removed 0 checkpoint(s), kept 7\n');

    const real = await runBin(bin, [
      'prune',
      ...store,
      '--series',
      'orders',
      '--keep-last',
      '1',
      '--json',
    ]);
    expect(real.code).toBe(0);
    expect(JSON.parse(real.stdout)).toEqual({
      dryRun: false,
      removed: series.slice(0, 3),
      kept: 1,
      failures: [],
    });
    expect(await ids()).toEqual(before.filter((id) => !series.slice(0, 3).includes(id)));

    const ls = await runBin(bin, ['ls', ...store, '--series', 'orders', '--json']);
    expect(
      (JSON.parse(ls.stdout) as { checkpoints: { series: unknown }[] }).checkpoints.map(
        (c) => c.series,
      ),
    ).toEqual([{ series: 'orders', sequence: 4 }]);

    const all = await runBin(bin, ['prune', ...store, '--keep-last', '2']);
    expect(all.code).toBe(0);
    expect(await ids()).toEqual(['@series:other:000000000001', 'plain-2']);
  });

  it('prune keeps and reports a checkpoint it cannot read (exit 1)', async () => {
    const dir = await fileStore(['checksum']);
    // Without its manifest, the checkpoint's original creation time is unknown.
    damage(dir, 'order-1', '@checkpointable.manifest');
    const run = await runBin(bin, [
      'prune',
      '--storage',
      `file:${dir}`,
      '--wrappers',
      'checksum',
      '--keep-last',
      '0',
    ]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^FAILED order-1 key @checkpointable.manifest: Integrity: /m);
    expect(run.stdout).toMatch(/removed 4 checkpoint\(s\), kept 1, 1 FAILED \(kept\)\n$/);
    expect(readdirSync(join(dir, 'committed'))).toEqual(['order-1']);
  });

  it('shows names read from storage quoted, never as raw control characters', async () => {
    const dir = tempDir('cp-cli-');
    dirs.push(dir);
    // A value naming a class the bin does not know, whose name and field carry terminal
    // escapes, hand-written in the codec's layout (src/codec/format.ts).
    const tree = JSON.stringify(['\u0000K', 'Evil\u001b[2J', 1, ['x\u001b[31m'], 'y\u0007']);
    const json = Buffer.from(tree, 'utf8');
    const bytes = Buffer.alloc(8 + json.length + 4);
    bytes.write('CPV', 0, 'latin1');
    bytes[3] = 1;
    bytes.writeUInt32LE(json.length, 4);
    json.copy(bytes, 8);
    const storage = await FileStorage.openRaw(dir);
    const draft = await storage.createCheckpoint('a "quoted"\u2028id');
    await draft.putBytes('k', bytes);
    await (await storage.commitCheckpoint(draft)).release();
    await storage.close();

    const show = await runBin(bin, ['show', '--storage', `file:${dir}`, 'a "quoted"\u2028id']);
    expect(show.code).toBe(0);
    // eslint-disable-next-line no-control-regex
    expect(show.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u2028]/);
    expect(show.stdout).toContain('checkpoint  "a \\"quoted\\"\\u2028id"\n');
    expect(show.stdout).toContain(`"Evil\\u001b[2J" { 'x\\x1B[31m': 'y\\x07' }`);
    const json2 = await runBin(bin, [
      'show',
      '--storage',
      `file:${dir}`,
      'a "quoted"\u2028id',
      '--json',
    ]);
    expect(JSON.parse(json2.stdout).values.k).toEqual({
      $class: 'Evil\u001b[2J',
      fields: { 'x\u001b[31m': 'y\u0007' },
    });
    const ls = await runBin(bin, ['ls', '--storage', `file:${dir}`]);
    expect(ls.stdout.split('\n')[1]).toMatch(/^"a \\"quoted\\"\\u2028id" {2}/);
  });
});
