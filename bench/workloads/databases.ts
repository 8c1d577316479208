import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { CheckpointManager, type Storage } from 'checkpointable';
import { PostgresStorage } from 'checkpointable/postgres';
import { RedisStorage } from 'checkpointable/redis';
import { Redis } from 'ioredis';
import { Pool } from 'pg';
import { compare, type Budget } from '../harness';
import { notMeasured, ratioRow, type Row } from '../report';
import { commitOne } from './file-storage';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const RUN = randomBytes(4).toString('hex');
const REPO_ROOT = resolve(__dirname, '../..');
const MiB = 1024 * 1024;
const run = promisify(execFile);

/** Commits `count` small checkpoints, `concurrency` at a time (setup for listing). */
async function fill(storage: Storage, count: number, concurrency: number): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      await commitOne(storage, `checkpoint-${String(i).padStart(6, '0')}`, { i });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
}

/** A state of about 1 KB once encoded, as a service would save it. */
const STATE = {
  order: { id: 42, customer: 'customer-0042', note: 'n'.repeat(900), lines: [1, 2, 3] },
};

/** The bytes the manager writes for {@link STATE}: what the bare baselines write. */
async function encodedState(storage: Storage): Promise<Uint8Array> {
  const draft = await storage.createCheckpoint(`encode-${RUN}`);
  await draft.put('order', STATE.order);
  const bytes = await draft.getBytes('order');
  await draft.discard();
  return bytes;
}

/**
 * The manager rows shared by PostgreSQL and Redis: a save of a 1 KB state against the bare
 * write of the same bytes (`bare`), 8 saves in flight against 8 one after another, and
 * `manager.list()` of 10,000 checkpoints against `checkpointIdentifiers()`.
 */
async function managerRows(
  backend: string,
  open: (name: string) => Promise<Storage>,
  bare: { name: string; write: (n: number, bytes: Uint8Array) => Promise<unknown> },
  { io, cpu }: { io: Budget; cpu: Budget },
  script?: { name: string; write: (n: number, bytes: Uint8Array) => Promise<unknown> },
): Promise<Row[]> {
  const rows: Row[] = [];
  const storage = await open('m');
  const lister = await open('ml');
  try {
    const manager = new CheckpointManager(storage);
    const bytes = await encodedState(storage);
    let n = 0;
    const save = await compare(
      () => manager.save(`s-${n++}`, STATE),
      {
        bare: () => bare.write(n++, bytes),
        ...(script === undefined ? {} : { script: () => script.write(n++, bytes) }),
      },
      io,
    );
    rows.push(
      ratioRow({
        name: `manager save of a 1 KB state, ${backend}`,
        value: save.subjectMs,
        unit: 'ms',
        baselineName: `${bare.name} of the same ${bytes.length} bytes`,
        baseline: save.baselineMs.bare,
        ratio: save.ratio.bare,
        maxRatio: 1.3,
      }),
    );
    if (script !== undefined) {
      rows.push(
        ratioRow({
          name: `manager save of a 1 KB state, ${backend}, against a one-script write`,
          value: save.subjectMs,
          unit: 'ms',
          baselineName: `${script.name} of the same ${bytes.length} bytes`,
          baseline: save.baselineMs.script,
          ratio: save.ratio.script,
          maxRatio: 1.3,
        }),
      );
    }
    const eight = () => Array.from({ length: 8 }, () => `p-${n++}`);
    const concurrent = await compare(
      () => Promise.all(eight().map((id) => manager.save(id, STATE))),
      {
        sequential: async () => {
          for (const id of eight()) await manager.save(id, STATE);
        },
      },
      io,
    );
    const speedup = 1 / concurrent.ratio.sequential;
    rows.push({
      name: `8 concurrent small saves, ${backend}: throughput against one at a time`,
      value: 8000 / concurrent.subjectMs,
      unit: 'saves/s',
      baselineName: '8 saves one after another',
      baseline: 8000 / concurrent.baselineMs.sequential,
      ratio: speedup,
      target: '>= 4x',
      met: speedup >= 4,
      note: 'ratio is throughput in flight / throughput one at a time',
    });

    const listManager = new CheckpointManager(lister);
    let next = 0;
    const lane = async () => {
      while (next < 10_000) await listManager.save(`l-${String(next++).padStart(6, '0')}`, STATE);
    };
    await Promise.all(Array.from({ length: 8 }, lane));
    const listing = await compare(
      async () => {
        const listed = await listManager.list();
        if (listed.length !== 10_000) throw new Error(`listed ${listed.length}, not 10,000`);
      },
      { identifiers: () => lister.checkpointIdentifiers() },
      { ...cpu, iterations: Math.min(cpu.iterations, 10) },
    );
    rows.push(
      ratioRow({
        name: `manager.list() of 10,000 checkpoints, ${backend}`,
        value: listing.subjectMs,
        unit: 'ms',
        baselineName: 'checkpointIdentifiers() of the same storage',
        baseline: listing.baselineMs.identifiers,
        ratio: listing.ratio.identifiers,
        maxRatio: 2,
      }),
    );
  } finally {
    await storage.close();
    await lister.close();
  }
  return rows;
}

/**
 * PostgreSQL: many small (1 KiB) commits against a bare INSERT of the same bytes into a
 * two-column table, and listing 10,000 checkpoints against a bare SELECT of the ids.
 */
export async function postgresBenchmarks({ io, cpu }: { io: Budget; cpu: Budget }): Promise<Row[]> {
  const pool = new Pool({ connectionString: DATABASE_URL, max: 4, connectionTimeoutMillis: 3000 });
  try {
    await pool.query('SELECT 1');
  } catch (error) {
    await pool.end().catch(() => undefined);
    const why = `PostgreSQL does not answer at ${DATABASE_URL} (${String((error as Error).message)})`;
    return [
      notMeasured('many small commits (1 KiB), PostgresStorage', '<= 1.5x', why),
      notMeasured('listing 10,000 checkpoints, PostgresStorage', '< 20 ms', why),
    ];
  }
  const table = `cp_bench_${RUN}`;
  const listTable = `cp_bench_list_${RUN}`;
  const bare = `cp_bench_bare_${RUN}`;
  const rows: Row[] = [];
  let storage: Storage | undefined;
  let lister: Storage | undefined;
  try {
    await pool.query(`CREATE TABLE "${bare}" (id text PRIMARY KEY, value bytea NOT NULL)`);
    storage = await PostgresStorage.open({ connectionString: DATABASE_URL, table });
    const bytes = randomBytes(1024);
    let n = 0;
    const small = await compare(
      () => commitOne(storage!, `c-${n++}`, bytes),
      {
        insert: () =>
          pool.query(`INSERT INTO "${bare}" (id, value) VALUES ($1, $2)`, [`c-${n++}`, bytes]),
      },
      io,
    );
    rows.push(
      ratioRow({
        name: 'many small commits (1 KiB), PostgresStorage',
        value: 1000 / small.subjectMs,
        unit: 'commits/s',
        baselineName: 'bare INSERT of the same bytes (autocommit)',
        baseline: 1000 / small.baselineMs.insert,
        ratio: small.ratio.insert,
        maxRatio: 1.5,
        note: 'ratio is time per commit / time per bare INSERT',
      }),
    );

    lister = await PostgresStorage.open({ connectionString: DATABASE_URL, table: listTable });
    await fill(lister, 10_000, 8);
    const listing = await compare(
      () => lister!.checkpointIdentifiers(),
      { select: () => pool.query(`SELECT identifier FROM "${listTable}" ORDER BY identifier`) },
      { ...cpu, iterations: Math.min(cpu.iterations, 20) },
    );
    rows.push({
      ...ratioRow({
        name: 'listing 10,000 checkpoints, PostgresStorage',
        value: listing.subjectMs,
        unit: 'ms',
        baselineName: 'bare SELECT identifier ... ORDER BY identifier',
        baseline: listing.baselineMs.select,
        ratio: listing.ratio.select,
        maxRatio: null,
        targetText: '< 20 ms',
      }),
      met: listing.subjectMs < 20,
    });
    rows.push(
      ...(await managerRows(
        'PostgresStorage',
        (name) =>
          PostgresStorage.open({
            connectionString: DATABASE_URL,
            table: `cp_bench_${name}_${RUN}`,
          }),
        {
          name: 'bare INSERT',
          write: (i, value) =>
            pool.query(`INSERT INTO "${bare}" (id, value) VALUES ($1, $2)`, [`m-${i}`, value]),
        },
        { io, cpu },
      )),
    );
    rows.push(...(await postgresLargeValue(`cp_bench_large_${RUN}`, 200)));
  } finally {
    await storage?.close();
    await lister?.close();
    const large = `cp_bench_large_${RUN}`;
    for (const t of [
      bare,
      `${table}_values`,
      table,
      `${listTable}_values`,
      listTable,
      `${large}_values`,
      large,
      ...['m', 'ml'].flatMap((name) => [
        `cp_bench_${name}_${RUN}_values`,
        `cp_bench_${name}_${RUN}`,
      ]),
    ]) {
      await pool.query(`DROP TABLE IF EXISTS "${t}"`).catch(() => undefined);
    }
    await pool.end();
  }
  return rows;
}

/**
 * Peak resident memory of committing, then (in another process) reading back, one
 * `megabytes` MiB value through PostgresStorage, net of the idle process, as a multiple
 * of the value's size. Each step runs in its own child process
 * (test/fixtures/db/large-postgres-value.ts), so only that step's peak counts. The
 * writer holds its own value besides the handle's encoded copy, so 2x is its floor.
 */
async function postgresLargeValue(table: string, megabytes: number): Promise<Row[]> {
  const rows: Row[] = [];
  for (const phase of ['write', 'read'] as const) {
    const { stdout } = await run(
      process.execPath,
      [
        '-r',
        '@swc-node/register',
        'test/fixtures/db/large-postgres-value.ts',
        phase,
        DATABASE_URL,
        table,
        String(megabytes),
      ],
      { cwd: REPO_ROOT, maxBuffer: 1024 * 1024 },
    );
    const f = JSON.parse(stdout) as { size: number; rssBefore: number; peak: number };
    const net = (f.peak - f.rssBefore) / f.size;
    const limit = phase === 'write' ? 2.5 : 2;
    rows.push({
      name: `${megabytes} MiB value ${phase === 'write' ? 'committed' : 'read back'}, PostgresStorage: peak RSS net of the idle process`,
      value: (f.peak - f.rssBefore) / MiB,
      unit: 'MiB',
      baselineName: 'value size',
      baseline: f.size / MiB,
      ratio: net,
      target: `<= ${limit}x`,
      met: net <= limit,
      note: `whole-process peak ${(f.peak / MiB).toFixed(0)} MiB, idle ${(f.rssBefore / MiB).toFixed(0)} MiB; ${phase === 'write' ? 'the writer holds its value and the handle its encoded copy (2x floor); values of 4 MiB and more are streamed by COPY' : 'read in 8 MiB slices into one buffer of the value size'}`,
    });
  }
  return rows;
}

/** Redis: many small (1 KiB) commits against a bare SET of the same bytes. */
export async function redisBenchmarks({ io, cpu }: { io: Budget; cpu: Budget }): Promise<Row[]> {
  const client = new Redis(REDIS_URL, {
    lazyConnect: true,
    connectTimeout: 3000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    client.disconnect();
    const why = `Redis does not answer at ${REDIS_URL} (${String((error as Error).message)})`;
    return [notMeasured('many small commits (1 KiB), RedisStorage', '<= 1.5x', why)];
  }
  const prefix = `cp-bench:${RUN}:`;
  const rows: Row[] = [];
  let storage: Storage | undefined;
  let lister: Storage | undefined;
  try {
    storage = await RedisStorage.open({ url: REDIS_URL, prefix: `${prefix}s:` });
    const bytes = randomBytes(1024);
    let n = 0;
    const small = await compare(
      () => commitOne(storage!, `c-${n++}`, bytes),
      { set: () => client.set(`${prefix}bare:${n++}`, bytes) },
      io,
    );
    rows.push(
      ratioRow({
        name: 'many small commits (1 KiB), RedisStorage',
        value: 1000 / small.subjectMs,
        unit: 'commits/s',
        baselineName: 'bare SET of the same bytes',
        baseline: 1000 / small.baselineMs.set,
        ratio: small.ratio.set,
        maxRatio: 1.5,
        note: 'ratio is time per commit / time per bare SET',
      }),
    );
    // The least a one-round-trip commit can be: one script (EVALSHA after its first call)
    // writing the bytes into a hash.
    client.defineCommand('benchBareWrite', {
      numberOfKeys: 1,
      lua: "return redis.call('HSET', KEYS[1], 'v', ARGV[1])",
    });
    const bareScript = (key: string, value: Buffer) =>
      (
        client as unknown as Record<string, (k: string, v: Buffer) => Promise<unknown>>
      ).benchBareWrite(key, value);
    lister = await RedisStorage.open({ url: REDIS_URL, prefix: `${prefix}l:` });
    await fill(lister, 10_000, 16);
    const listing = await compare(
      () => lister!.checkpointIdentifiers(),
      { hkeys: () => client.hkeys(`${prefix}l:index`) },
      { ...cpu, iterations: Math.min(cpu.iterations, 20) },
    );
    rows.push(
      ratioRow({
        name: 'listing 10,000 checkpoints, RedisStorage',
        value: listing.subjectMs,
        unit: 'ms',
        baselineName: 'bare HKEYS of the index hash',
        baseline: listing.baselineMs.hkeys,
        ratio: listing.ratio.hkeys,
        maxRatio: null,
      }),
    );
    rows.push(
      ...(await managerRows(
        'RedisStorage',
        (name) => RedisStorage.open({ url: REDIS_URL, prefix: `${prefix}${name}:` }),
        {
          name: 'bare SET',
          write: (i, value) => client.set(`${prefix}bare-m:${i}`, Buffer.from(value)),
        },
        { io, cpu },
        {
          name: 'bare EVALSHA of a script writing them into a hash',
          write: (i, value) => bareScript(`${prefix}bare-s:${i}`, Buffer.from(value)),
        },
      )),
    );
  } finally {
    await storage?.close();
    await lister?.close();
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) await client.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
    await client.quit();
  }
  return rows;
}
