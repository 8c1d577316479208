import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWrapperChain, type Storage } from 'checkpointable';
import { PostgresStorage } from 'checkpointable/postgres';
import { RedisStorage } from 'checkpointable/redis';
import { DATABASE_URL, postgresAnswers, sql } from '../postgres/postgres-server';
import { REDIS_URL, redisAnswers, TestPrefixes } from '../redis/redis-server';
import { chain, newKey, openFileChain, saveOrders } from './cli-fixtures';
import { buildCli, runBin, tempDir } from './cli-harness';

/*
 * The bin takes storages as URLs only, so each test store is made unique by its URL: a
 * PostgreSQL schema of our own (through
 * the connection's search_path) and a Redis key prefix of this run (`?prefix=`); both are
 * removed afterwards.
 */
const run = randomBytes(4).toString('hex');
const schemas: string[] = [];
const dirs: string[] = [];
const prefixes = new TestPrefixes();

function pgUrl(schema: string): string {
  const url = new URL(DATABASE_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.toString();
}

async function newSchema(): Promise<string> {
  const schema = `cp_cli_${run}_${schemas.length}`;
  schemas.push(schema);
  await sql(`CREATE SCHEMA "${schema}"`);
  return schema;
}

/** A new Redis key prefix of this run, and the bin's URL for it (`?prefix=`). */
function newRedis(): { prefix: string; url: string } {
  const prefix = prefixes.next();
  return { prefix, url: `${REDIS_URL}/?prefix=${encodeURIComponent(prefix)}` };
}

const available = postgresAnswers() && redisAnswers();
let bin: string;

beforeAll(async () => {
  bin = buildCli();
});
afterAll(async () => {
  for (const schema of schemas) await sql(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await prefixes.dropAll();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Every checkpoint of `storage`: its values decoded (classes registered here) by key. */
async function contents(storage: Storage): Promise<Record<string, Record<string, unknown>>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const id of await storage.checkpointIdentifiers()) {
    const saved = await storage.loadCheckpoint(id);
    out[id] = {};
    for (const key of await saved.keys()) {
      if (key !== '@checkpointable.manifest') out[id][key] = await saved.get(key);
    }
    await saved.release();
  }
  return out;
}

async function createdTimes(storage: Storage): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const id of await storage.checkpointIdentifiers()) {
    const saved = await storage.loadCheckpoint(id);
    out[id] = saved.createdAt.toISOString();
    await saved.release();
  }
  return out;
}

/** What `ls --json` says the creation times are. */
async function listedTimes(
  args: string[],
  env: Record<string, string> = {},
): Promise<Record<string, string>> {
  const ls = await runBin(bin, ['ls', '--json', ...args], env);
  expect(ls.stderr).toBe('');
  expect(ls.code).toBe(0);
  const { checkpoints } = JSON.parse(ls.stdout) as {
    checkpoints: { identifier: string; createdAt: string }[];
  };
  return Object.fromEntries(checkpoints.map((c) => [c.identifier, c.createdAt]));
}

describe.runIf(available)('checkpointable bin on PostgreSQL and Redis', () => {
  it('cp file -> PostgreSQL -> Redis -> file keeps every decoded value and createdAt, re-wrapping each hop', async () => {
    const hmacKey = newKey();
    const encryptKey = newKey();
    const finalKey = newKey();
    const source = tempDir('cp-cli-src-');
    const final = tempDir('cp-cli-final-');
    rmSync(final, { recursive: true });
    dirs.push(source, final);
    const sourceStorage = await openFileChain(source, ['checksum', 'hmac'], { hmac: hmacKey });
    await saveOrders(sourceStorage, ['order-1', 'order-2', '@series:orders:000000000001']);
    // A checkpoint written without the manager: no manifest until the first copy.
    const draft = await sourceStorage.createCheckpoint('raw bytes');
    await draft.put('blob', Buffer.from([0, 1, 2, 255]));
    await (await sourceStorage.commitCheckpoint(draft)).release();
    const expected = await contents(sourceStorage);
    const originalTimes = await createdTimes(sourceStorage);
    await sourceStorage.close();
    await new Promise((r) => setTimeout(r, 20)); // copies are committed visibly later

    const pg = pgUrl(await newSchema());
    const { prefix: redisPrefix, url: redis } = newRedis();
    const keyFile = join(tempDir('cp-cli-key-'), 'hmac.key');
    dirs.push(join(keyFile, '..'));
    writeFileSync(keyFile, `${finalKey}\n`);

    const hop1 = await runBin(
      bin,
      [
        'cp',
        '--storage',
        `file:${source}`,
        '--wrappers',
        'checksum,hmac',
        '--to',
        pg,
        '--to-wrappers',
        'checksum',
      ],
      { CHECKPOINT_HMAC_KEY: hmacKey },
    );
    expect(hop1.stderr).toBe('');
    expect(hop1.code).toBe(0);
    expect(hop1.stdout).toContain('copy 1/4 @series:orders:000000000001 copied\n');
    expect(hop1.stdout).toContain('copy 4/4 "raw bytes" copied\n');
    expect(hop1.stdout).toMatch(
      /copied 4 checkpoint\(s\) \([\d.]+ KiB\) to postgres:\/\/postgres@127\.0\.0\.1:5432\/test\?options=/,
    );

    const hop2 = await runBin(
      bin,
      [
        'cp',
        '--storage',
        pg,
        '--wrappers',
        'checksum',
        '--to',
        redis,
        '--to-wrappers',
        'checksum,encrypt',
      ],
      { CHECKPOINT_TO_ENCRYPTION_KEY: encryptKey },
    );
    expect(hop2.stderr).toBe('');
    expect(hop2.code).toBe(0);

    const hop3 = await runBin(
      bin,
      [
        'cp',
        '--to',
        `file:${final}`,
        '--to-wrappers',
        'checksum,hmac',
        '--to-hmac-key-file',
        keyFile,
      ],
      {
        CHECKPOINT_STORAGE: redis,
        CHECKPOINT_WRAPPERS: 'checksum,encrypt',
        CHECKPOINT_ENCRYPTION_KEY: encryptKey,
      },
    );
    expect(hop3.stderr).toBe('');
    expect(hop3.code).toBe(0);

    // Values: decoded through each store's own chain, equal to the source's.
    const pgStorage = buildWrapperChain(
      await PostgresStorage.openRaw({ connectionString: pg }),
      chain(['checksum']),
    );
    const redisStorage = buildWrapperChain(
      await RedisStorage.openRaw({ url: REDIS_URL, prefix: redisPrefix }),
      chain(['checksum', 'encrypt'], { encrypt: encryptKey }),
    );
    const finalStorage = await openFileChain(final, ['checksum', 'hmac'], { hmac: finalKey });
    try {
      for (const storage of [pgStorage, redisStorage, finalStorage]) {
        expect(await contents(storage)).toEqual(expected);
        // Each storage stamped its own commit time; the original is what the bin reports.
        const stamped = await createdTimes(storage);
        for (const id of Object.keys(originalTimes))
          expect(stamped[id] > originalTimes[id]).toBe(true);
      }
    } finally {
      await Promise.all([pgStorage.close(), redisStorage.close(), finalStorage.close()]);
    }
    expect(await listedTimes(['--storage', pg, '--wrappers', 'checksum'])).toEqual(originalTimes);
    expect(
      await listedTimes(['--storage', redis, '--wrappers', 'checksum,encrypt'], {
        CHECKPOINT_ENCRYPTION_KEY: encryptKey,
      }),
    ).toEqual(originalTimes);
    expect(
      await listedTimes([
        '--storage',
        `file:${final}`,
        '--wrappers',
        'checksum,hmac',
        '--hmac-key-file',
        keyFile,
      ]),
    ).toEqual(originalTimes);
    const show = await runBin(bin, [
      'show',
      '--storage',
      `file:${final}`,
      '--wrappers',
      'checksum,hmac',
      '--hmac-key-file',
      keyFile,
      'order-1',
    ]);
    expect(show.stdout).toContain(`created     ${originalTimes['order-1']} (copied; stored here `);

    // Existing identifiers: refused before anything is written, or skipped; resumable.
    const again = await runBin(bin, [
      'cp',
      '--storage',
      pg,
      '--wrappers',
      'checksum',
      '--to',
      `file:${final}`,
      '--to-wrappers',
      'checksum,hmac',
      '--to-hmac-key-file',
      keyFile,
    ]);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(
      'checkpointable: CheckFailed: the target already has "@series:orders:000000000001", "order-1", "order-2", "raw bytes"; nothing was copied. Pass --skip-existing to copy only the others, or remove them from the target first.\n',
    );
    const rm = await runBin(bin, ['rm', '--storage', `file:${final}`, 'order-2']);
    expect(rm.code).toBe(0);
    const resumed = await runBin(bin, [
      'cp',
      '--storage',
      pg,
      '--wrappers',
      'checksum',
      '--to',
      `file:${final}`,
      '--to-wrappers',
      'checksum,hmac',
      '--to-hmac-key-file',
      keyFile,
      '--skip-existing',
      '--json',
    ]);
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({
      copied: ['order-2'],
      skipped: ['@series:orders:000000000001', 'order-1', 'raw bytes'],
      failures: [],
    });
    expect(
      await listedTimes([
        '--storage',
        `file:${final}`,
        '--wrappers',
        'checksum,hmac',
        '--hmac-key-file',
        keyFile,
      ]),
    ).toEqual(originalTimes);
  });

  it('verify finds each damaged checkpoint in PostgreSQL and in Redis, and only those', async () => {
    const schema = await newSchema();
    const pg = pgUrl(schema);
    const pgStorage = buildWrapperChain(
      await PostgresStorage.openRaw({ connectionString: pg }),
      chain(['checksum']),
    );
    await saveOrders(pgStorage, ['a', 'b', 'c', 'd']);
    await pgStorage.close();
    for (const id of ['b', 'd']) {
      await sql(
        `UPDATE "${schema}"."checkpointable_values" v SET value = set_byte(value, 20, get_byte(value, 20) # 1)
           FROM "${schema}"."checkpointable" c WHERE c.id = v.checkpoint_id AND c.identifier = $1 AND v.key = 'note'`,
        [id],
      );
    }
    const pgRun = await runBin(bin, [
      'verify',
      '--storage',
      pg,
      '--wrappers',
      'checksum',
      '--json',
    ]);
    expect(pgRun.code).toBe(1);
    const pgReport = JSON.parse(pgRun.stdout) as {
      checkpoints: number;
      failures: { identifier: string; key: string; kind: string }[];
    };
    expect(pgReport.checkpoints).toBe(4);
    expect(pgReport.failures.map((f) => [f.identifier, f.key, f.kind])).toEqual([
      ['b', 'note', 'Integrity'],
      ['d', 'note', 'Integrity'],
    ]);

    const { prefix, url: redis } = newRedis();
    const redisStorage = buildWrapperChain(
      await RedisStorage.openRaw({ url: REDIS_URL, prefix }),
      chain(['checksum']),
    );
    await saveOrders(redisStorage, ['a', 'b', 'c', 'd']);
    await redisStorage.close();
    const client = new Redis(REDIS_URL);
    try {
      for (const id of ['a', 'c']) {
        const entry = await client.hget(`${prefix}index`, id);
        const dataKey = `${prefix}data:${entry!.split(' ')[0]}`;
        const bytes = (await client.hgetBuffer(dataKey, 'order'))!;
        bytes[bytes.length - 1] ^= 0x01;
        await client.hset(dataKey, 'order', bytes);
      }
    } finally {
      await client.quit();
    }
    const redisRun = await runBin(bin, ['verify', '--storage', redis, '--wrappers', 'checksum']);
    expect(redisRun.code).toBe(1);
    expect(redisRun.stdout.match(/^FAILED \S+ key \S+: \w+/gm)).toEqual([
      'FAILED a key order: Integrity',
      'FAILED c key order: Integrity',
    ]);
    expect(redisRun.stdout).toContain('verify 2/4 b ok\n');

    // A value the storage lost (an evicted or deleted field) is found through the manifest.
    const dropper = new Redis(REDIS_URL);
    try {
      const entry = await dropper.hget(`${prefix}index`, 'd');
      expect(await dropper.hdel(`${prefix}data:${entry!.split(' ')[0]}`, 'note')).toBe(1);
    } finally {
      await dropper.quit();
    }
    const lost = await runBin(bin, ['verify', '--storage', redis, '--wrappers', 'checksum', 'd']);
    expect(lost.code).toBe(1);
    expect(lost.stdout).toContain(
      'FAILED d key note: Integrity: Checkpoint "d" was saved with key "note" (its manifest says so), but the storage no longer has it; restore the checkpoint from a backup.\n',
    );
  });

  it('ls, show, export, rm, import and prune work the same on PostgreSQL and Redis', async () => {
    const ids = [1, 2, 3].map((n) => `@series:orders:${String(n).padStart(12, '0')}`);
    const pg = pgUrl(await newSchema());
    const { prefix, url: redis } = newRedis();
    const backends: [string, () => Promise<Storage>][] = [
      [pg, async () => PostgresStorage.openRaw({ connectionString: pg })],
      [redis, async () => RedisStorage.openRaw({ url: REDIS_URL, prefix })],
    ];
    for (const [url, open] of backends) {
      const storage = buildWrapperChain(await open(), chain(['checksum']));
      await saveOrders(storage, ids);
      const times = await createdTimes(storage);
      await storage.close();
      const args = ['--storage', url, '--wrappers', 'checksum'];

      expect(await listedTimes(args)).toEqual(times);
      const show = await runBin(bin, ['show', ...args, ids[1], 'order', '--json']);
      expect(show.code, url).toBe(0);
      expect(JSON.parse(show.stdout)).toMatchObject({
        identifier: ids[1],
        createdAt: times[ids[1]],
        values: { order: { $class: 'Order', fields: { id: 2 } } },
      });

      const archive = join(tempDir('cp-cli-arc-'), 'backup.cpar');
      dirs.push(join(archive, '..'));
      expect((await runBin(bin, ['export', ...args, archive])).code, url).toBe(0);
      const rm = await runBin(bin, ['rm', ...args, ...ids, '--json']);
      expect(JSON.parse(rm.stdout)).toEqual({ removed: ids, failures: [] });
      expect(await listedTimes(args)).toEqual({});
      const imported = await runBin(bin, ['import', ...args, archive]);
      expect(imported.stderr, url).toBe('');
      expect(imported.code, url).toBe(0);
      expect(await listedTimes(args)).toEqual(times);

      const prune = await runBin(bin, [
        'prune',
        ...args,
        '--series',
        'orders',
        '--keep-last',
        '1',
        '--json',
      ]);
      expect(JSON.parse(prune.stdout)).toEqual({
        dryRun: false,
        removed: ids.slice(0, 2),
        kept: 1,
        failures: [],
      });
      expect(Object.keys(await listedTimes(args))).toEqual([ids[2]]);
    }
  });
});
