import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CheckpointError } from 'checkpointable';
import { PostgresStorage } from 'checkpointable/postgres';
import { cuttingProxy, type CuttingProxy } from '../fixtures/db/cutting-proxy';
import { DATABASE_URL, postgresAnswers, sql, TestTables } from './postgres-server';
import { commit, failure, outcome } from '../fixtures/db/storage-test-helpers';

const tables = new TestTables();
const ROOT = resolve(__dirname, '../..');
const MiB = 1024 * 1024;

/** A storage on `table` whose connections pass through `proxy`. */
function throughProxy(
  proxy: CuttingProxy,
  table: string,
  options: { maxConnections?: number } = {},
): Promise<PostgresStorage> {
  const url = new URL(DATABASE_URL);
  url.port = String(proxy.port);
  return PostgresStorage.openRaw({ connectionString: url.toString(), table, ...options });
}

async function withProxy(work: (proxy: CuttingProxy) => Promise<void>): Promise<void> {
  const url = new URL(DATABASE_URL);
  const proxy = await cuttingProxy(url.hostname, Number(url.port || 5432));
  try {
    await work(proxy);
  } finally {
    await proxy.close();
  }
}

/** Equality without a diff: a failed toEqual on megabytes would print them all. */
function same(a: unknown, b: unknown): boolean {
  return Buffer.isBuffer(a) && Buffer.isBuffer(b) ? a.equals(b) : a === b;
}

interface ChildFigures {
  size: number;
  length: number;
  hash: string;
  rssBefore: number;
  peak: number;
}

/** Runs test/fixtures/db/large-postgres-value.ts in its own process. */
function largeValueChild(phase: 'write' | 'read', table: string, megabytes: number) {
  return new Promise<ChildFigures>((done, fail) => {
    const child = spawn(
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
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) =>
      code === 0
        ? done(JSON.parse(stdout) as ChildFigures)
        : fail(new Error(`the ${phase} child exited with ${code}: ${stderr}`)),
    );
  });
}

describe.runIf(postgresAnswers())('PostgresStorage hardening', () => {
  afterAll(() => tables.dropAll());

  it('reads back a value over 256 MiB, which hex text cannot carry in one string, at about twice its size in memory', async () => {
    const table = tables.next();
    const written = await largeValueChild('write', table, 257);
    const read = await largeValueChild('read', table, 257);
    expect(read.length).toBe(257 * MiB + 0);
    expect(read.hash).toBe(written.hash);
    // Net of the idle process: the value itself, plus two 8 MiB slices in flight and
    // the garbage they leave. Read whole as hex text, it took about ten times its size.
    const net = (read.peak - read.rssBefore) / read.size;
    console.log(
      `PostgreSQL ${read.size / MiB} MiB value: read peak ${net.toFixed(2)}x net, write peak ${((written.peak - written.rssBefore) / written.size).toFixed(2)}x net`,
    );
    expect(net).toBeLessThan(3);
    // The child holds the value it wrote and the handle's encoded copy: two sizes. The
    // COPY adds one 1 MiB slice; sent as a parameter, the value took about three sizes.
    expect((written.peak - written.rssBefore) / written.size).toBeLessThan(2.6);
  }, 300_000);

  it('streams large values by COPY in the commit transaction: a connection that dies mid-COPY leaves nothing, and the handle retries', async () => {
    const table = tables.next();
    const app = `cp-copy-${randomBytes(4).toString('hex')}`;
    const storage = await PostgresStorage.openRaw({
      connectionString: DATABASE_URL,
      table,
      applicationName: app,
    });
    const draft = await storage.createCheckpoint('large');
    const big = Buffer.alloc(5 * MiB, 7);
    big.write('distinct head');
    await draft.put('big', big);
    await draft.put('also-big', Buffer.alloc(6 * MiB, 8));
    // Another session holds a lock the COPY must wait for: the commit is then provably
    // inside its transaction, the checkpoint row written and the COPY under way.
    const locker = new Client({ connectionString: DATABASE_URL });
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query(`LOCK TABLE "${table}_values" IN SHARE MODE`);
    const committing = outcome(storage.commitCheckpoint(draft));
    let killed = 0;
    while (killed === 0) {
      const rows = await sql<{ pid: number; query: string }>(
        `SELECT pid, query FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
        [app],
      );
      for (const { pid, query } of rows) {
        expect(query).toMatch(/^COPY /);
        await sql('SELECT pg_terminate_backend($1)', [pid]);
        killed++;
      }
    }
    await locker.query('ROLLBACK');
    await locker.end();
    const error = (await committing) as CheckpointError;
    expect(error).toBeInstanceOf(CheckpointError);
    expect(error.kind).toBe('Io');
    const [counts] = await sql<{ c: string; v: string }>(
      `SELECT (SELECT count(*) FROM "${table}") AS c, (SELECT count(*) FROM "${table}_values") AS v`,
    );
    expect(counts).toEqual({ c: '0', v: '0' });
    // The handle is still open; with a small value too, the retry also INSERTs.
    await draft.put('small', 'small');
    const saved = await storage.commitCheckpoint(draft);
    await saved.release();
    const loaded = await storage.loadCheckpoint('large');
    expect(await loaded.keys()).toEqual(['also-big', 'big', 'small']);
    expect(same(await loaded.get('big'), big)).toBe(true);
    expect(same(await loaded.get('also-big'), Buffer.alloc(6 * MiB, 8))).toBe(true);
    expect(await loaded.get('small')).toBe('small');
    await loaded.release();
    // The identifier is taken: a second large commit is refused, and writes nothing.
    const again = await storage.createCheckpoint('other');
    await again.put('big', big);
    await (await storage.commitCheckpoint(again)).release();
    const other = await PostgresStorage.openRaw({ connectionString: DATABASE_URL, table });
    const clash = await other.createCheckpoint('fresh');
    await clash.put('big', big);
    const first = await storage.createCheckpoint('fresh');
    await first.put('v', 1);
    await (await storage.commitCheckpoint(first)).release();
    expect((await failure(other.commitCheckpoint(clash))).kind).toBe('AlreadyExists');
    const [{ n }] = await sql<{ n: string }>(`SELECT count(*) AS n FROM "${table}_values"`);
    expect(n).toBe('5'); // large: 3, other: 1, fresh: 1
    await other.close();
    await storage.close();
  });

  it('a commit whose connection dies while COPY waits for the socket to drain fails with Io, never hangs', async () => {
    await withProxy(async (proxy) => {
      const table = tables.next();
      const storage = await throughProxy(proxy, table);
      const draft = await storage.createCheckpoint('stalled');
      const value = Buffer.alloc(64 * MiB, 3);
      value.write('stall-marker', 32 * MiB);
      await draft.put('big', value);
      const { stalled, cut } = proxy.stallAt('stall-marker');
      const committing = outcome(storage.commitCheckpoint(draft));
      await stalled;
      // The proxy reads no more: the rest of the 64 MiB cannot fit in the socket
      // buffers, so the COPY waits for a drain; the connection then dies under it.
      cut();
      const error = (await committing) as CheckpointError;
      expect(error).toBeInstanceOf(CheckpointError);
      expect(error.kind).toBe('Io');
      expect(error.message).toMatch(/^PostgresStorage could not commit checkpoint "stalled" /);
      const [counts] = await sql<{ c: string; v: string }>(
        `SELECT (SELECT count(*) FROM "${table}") AS c, (SELECT count(*) FROM "${table}_values") AS v`,
      );
      expect(counts).toEqual({ c: '0', v: '0' });
      await (await storage.commitCheckpoint(draft)).release();
      const loaded = await storage.loadCheckpoint('stalled');
      expect(same(await loaded.get('big'), value)).toBe(true);
      await storage.close();
    });
  });

  it('streams a large value under a query time-out, and the time-out still applies to a COPY that stalls', async () => {
    await withProxy(async (proxy) => {
      const table = tables.next();
      const url = new URL(DATABASE_URL);
      url.port = String(proxy.port);
      const storage = await PostgresStorage.openRaw({
        connectionString: url.toString(),
        table,
        queryTimeoutMs: 1000,
      });
      const draft = await storage.createCheckpoint('timed');
      await draft.put('big', Buffer.alloc(5 * MiB, 4));
      await (await storage.commitCheckpoint(draft)).release();
      const stalledDraft = await storage.createCheckpoint('stalls');
      const value = Buffer.alloc(64 * MiB, 5);
      value.write('stall-marker', 32 * MiB);
      await stalledDraft.put('big', value);
      const { stalled, cut } = proxy.stallAt('stall-marker');
      const committing = outcome(storage.commitCheckpoint(stalledDraft));
      await stalled;
      const error = (await committing) as CheckpointError;
      cut();
      expect(error).toBeInstanceOf(CheckpointError);
      expect(error.kind).toBe('Io');
      expect(error.message).toContain('Query read timeout');
      expect(await storage.checkpointIdentifiers()).toEqual(['timed']);
      await storage.close();
    });
  });

  it('a value removed between two of its slices is NotFound, never a mix of two values', async () => {
    await withProxy(async (proxy) => {
      const table = tables.next();
      const reader = await throughProxy(proxy, table);
      const other = await PostgresStorage.openRaw({ connectionString: DATABASE_URL, table });
      await commit(other, 'shared', { v: Buffer.alloc(9 * MiB, 1) });
      const loaded = await reader.loadCheckpoint('shared');
      // The first statement reads the size and the first 8 MiB; the second slice's
      // request is held until the checkpoint was removed and recommitted.
      const hold = proxy.holdRequest('substring(value from $3');
      const reading = outcome(loaded.get('v'));
      await hold.held;
      await other.removeCheckpoint('shared');
      await commit(other, 'shared', { v: Buffer.alloc(9 * MiB, 2) });
      hold.release();
      const error = (await reading) as CheckpointError;
      expect(error).toBeInstanceOf(CheckpointError);
      expect(error.kind).toBe('NotFound');
      await reader.close();
      await other.close();
    });
  });

  it('refuses a value over the bytea limit at commit, naming the limit, and keeps the handle', async () => {
    const table = tables.next();
    const storage = await PostgresStorage.openRaw({ connectionString: DATABASE_URL, table });
    storage.maxValueBytes = 1000;
    const draft = await storage.createCheckpoint('big');
    await draft.putBytes('blob', new Uint8Array(1001));
    const error = await failure(storage.commitCheckpoint(draft));
    expect(error.kind).toBe('Other');
    expect(error.message).toBe(
      `Value "blob" of checkpoint "big" is 1001 bytes, more than the 1000 bytes PostgresStorage stores in one value (PostgreSQL's bytea holds at most 1 GiB); split it over several keys, or keep it in a FileStorage. Nothing was sent, and the handle is still open.`,
    );
    expect(await storage.checkpointIdentifiers()).toEqual([]);
    await draft.putBytes('blob', new Uint8Array(1000));
    await (await storage.commitCheckpoint(draft)).release();
    expect(await storage.checkpointIdentifiers()).toEqual(['big']);
    await storage.close();
  });

  it('on close(), fails work still waiting for a connection with Released at once, and lets work under way finish', async () => {
    await withProxy(async (proxy) => {
      const table = tables.next();
      const storage = await throughProxy(proxy, table, { maxConnections: 1 });
      await commit(storage, 'a', { v: 'value of a' });
      const loaded = await storage.loadCheckpoint('a');
      const hold = proxy.holdRequest('octet_length');
      const underWay = outcome(loaded.get('v')); // holds the only connection
      await hold.held;
      const waiting = outcome(loaded.get('v')); // waits for that connection
      const listing = outcome(storage.checkpointIdentifiers());
      const closed = storage.close();
      // Settles while the first read is still held back by the proxy: nothing waits.
      for (const early of [await waiting, await listing]) {
        expect(early).toBeInstanceOf(CheckpointError);
        expect((early as CheckpointError).kind).toBe('Released');
        expect((early as CheckpointError).message).toBe(
          'This PostgresStorage was closed while the operation waited for a connection; open a new one to keep working with its checkpoints.',
        );
      }
      hold.release();
      expect(await underWay).toBe('value of a');
      await closed;
      expect(storage.pool.ended).toBe(true);
      const after = await failure(loaded.get('v'));
      expect(after.kind).toBe('Released');
      expect(after.message).toBe(
        'This PostgresStorage was closed; open a new one to keep working with its checkpoints.',
      );
    });
  });

  it('on close() of a storage on a borrowed pool with no time-out, leaves no read pending', async () => {
    await withProxy(async (proxy) => {
      const { Pool } = await import('pg');
      const url = new URL(DATABASE_URL);
      url.port = String(proxy.port);
      const pool = new Pool({ connectionString: url.toString(), max: 1 });
      const table = tables.next();
      const storage = await PostgresStorage.openRaw({ pool, table });
      await commit(storage, 'a', { v: 1 });
      const hold = proxy.holdRequest('LEFT JOIN');
      const underWay = outcome(storage.loadCheckpoint('a'));
      await hold.held;
      const waiting = outcome(storage.loadCheckpoint('a'));
      const closed = storage.close();
      expect(((await waiting) as CheckpointError).kind).toBe('Released');
      hold.release();
      const loaded = await underWay;
      expect(loaded).not.toBeInstanceOf(CheckpointError);
      await closed;
      // The borrowed pool is the application's: still usable.
      expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      await pool.end();
    });
  });

  // The proxy cuts the reply to the first request naming the table: the statement
  // under test, since the storage is fresh (its statement text travels with it) and
  // the checkpoint was written through another one.
  for (const [what, values] of [
    ['checkpointIdentifiers()', false],
    ['loadCheckpoint()', false],
    ['get()', true],
  ] as const) {
    it(`retries ${what} once on a new connection when the connection drops under it`, async () => {
      await withProxy(async (proxy) => {
        const table = tables.next();
        const writer = await PostgresStorage.openRaw({ connectionString: DATABASE_URL, table });
        await commit(writer, 'a', { v: 'value of a' });
        await writer.close();
        const storage = await throughProxy(proxy, table);
        const loaded = what === 'get()' ? await storage.loadCheckpoint('a') : undefined;
        const cut = proxy.cutReplyTo(values ? `"${table}_values"` : `"${table}"`);
        const result =
          what === 'checkpointIdentifiers()'
            ? await storage.checkpointIdentifiers()
            : what === 'loadCheckpoint()'
              ? await (await storage.loadCheckpoint('a')).keys()
              : await loaded!.get('v');
        await cut; // the reply to the first attempt was really lost
        expect(result).toEqual(
          what === 'get()'
            ? 'value of a'
            : ['a', 'v'][what === 'loadCheckpoint()' ? 1 : 0] === 'v'
              ? ['v']
              : ['a'],
        );
        await storage.close();
      });
    });
  }

  it('retries a read once only: a second drop is Io', async () => {
    await withProxy(async (proxy) => {
      const table = tables.next();
      const storage = await throughProxy(proxy, table);
      const first = proxy.cutReplyTo(`"${table}"`);
      const listing = outcome(storage.checkpointIdentifiers());
      await first;
      // The retry goes out on a new connection; its statement text travels again.
      await proxy.cutReplyTo(`"${table}"`);
      const error = (await listing) as CheckpointError;
      expect(error).toBeInstanceOf(CheckpointError);
      expect(error.kind).toBe('Io');
      expect(error.message).toMatch(
        /^PostgresStorage could not list checkpoints \(PostgreSQL at 127\.0\.0\.1:\d+, table cp_test_\w+\): Connection terminated unexpectedly\. Check that the server is up and reachable, then retry\.$/,
      );
      await storage.close();
    });
  });

  it('never lists identifiers or keys outside the grammar read from tampered rows, and reports them in listDamaged()', async () => {
    const table = tables.next();
    const storage = await PostgresStorage.openRaw({ connectionString: DATABASE_URL, table });
    await commit(storage, 'good', { k: 'kept' });
    expect(await storage.listDamaged()).toEqual([]);
    const hostile = [
      'a/b',
      '../x',
      'bad\u0007bell',
      'x'.repeat(300),
      '\u0001zzzz',
      '\u0001d83d\u0001de00',
      '..',
    ];
    for (const identifier of hostile) {
      await sql(
        `INSERT INTO "${table}" (identifier, commit_token, sort_key)
         VALUES ($1, gen_random_uuid(), convert_to($1, 'UTF8'))`,
        [identifier],
      );
    }
    for (const key of ['k/1', '..', 'tab\there']) {
      await sql(
        `INSERT INTO "${table}_values" (checkpoint_id, key, value)
         SELECT id, $1, '\\x00'::bytea FROM "${table}" WHERE identifier = 'good'`,
        [key],
      );
    }
    expect(await storage.checkpointIdentifiers()).toEqual(['good']);
    const loaded = await storage.loadCheckpoint('good');
    expect(await loaded.keys()).toEqual(['k']);
    expect(await loaded.get('k')).toBe('kept');
    const damaged = await storage.listDamaged();
    expect(damaged).toEqual(
      expect.arrayContaining([
        { name: 'a/b', reason: "checkpoint identifier: it contains '/' at position 1" },
        { name: '../x', reason: "checkpoint identifier: it contains '/' at position 2" },
        {
          name: 'bad\u0007bell',
          reason: 'checkpoint identifier: it contains the control character U+0007 at position 3',
        },
        { name: 'x'.repeat(300), reason: 'checkpoint identifier: it is 300 characters long' },
        {
          name: '\u0001zzzz',
          reason: 'checkpoint identifier: it contains the control character U+0001 at position 0',
        },
        {
          name: '\u0001d83d\u0001de00',
          reason: 'checkpoint identifier: it is not written the way names are stored',
        },
        { name: '..', reason: 'checkpoint identifier: it is a relative path' },
        { name: 'k/1', reason: 'key of checkpoint "good": it contains \'/\' at position 1' },
        { name: '..', reason: 'key of checkpoint "good": it is a relative path' },
        {
          name: 'tab\there',
          reason:
            'key of checkpoint "good": it contains the control character U+0009 at position 3',
        },
      ]),
    );
    expect(damaged).toHaveLength(10);
    await loaded.release();
    await storage.close();
  });

  // The unique index bounds a stored name to about 2,700 bytes; the cut is what keeps a
  // longer one out of JavaScript should the index ever be dropped.
  it('cuts a stored name longer than any valid one before it reaches JavaScript', async () => {
    const table = tables.next();
    const storage = await PostgresStorage.openRaw({ connectionString: DATABASE_URL, table });
    await sql(
      `INSERT INTO "${table}" (identifier, commit_token, sort_key)
       VALUES (repeat('y', 2000), gen_random_uuid(), '\\x00')`,
    );
    expect(await storage.checkpointIdentifiers()).toEqual([]);
    const [entry] = await storage.listDamaged();
    expect(entry.name).toBe('y'.repeat(1276));
    expect(entry.reason).toBe('checkpoint identifier: it is 2000 characters long');
    await storage.close();
  });

  it('refuses a checkpoint whose rows claim more keys than a checkpoint may have, before holding them', async () => {
    const table = tables.next();
    const storage = await PostgresStorage.openRaw({ connectionString: DATABASE_URL, table });
    await commit(storage, 'many', { k: 1 });
    await sql(
      `INSERT INTO "${table}_values" (checkpoint_id, key, value)
       SELECT c.id, 'x' || g, '\\x00'::bytea FROM "${table}" c, generate_series(1, 1000000) g
       WHERE c.identifier = 'many'`,
    );
    const error = await failure(storage.loadCheckpoint('many'));
    expect(error.kind).toBe('Deserialize');
    expect(error.message).toBe(
      `Checkpoint "many" holds 1000001 keys in PostgreSQL table ${table}_values, more than the 1000000 PostgresStorage reads back: the table is damaged. Remove the checkpoint, or restore the table from a backup.`,
    );
    await storage.close();
  }, 120_000);

  for (const size of ['small', 'sliced'] as const) {
    it(`a handle loaded through one storage reads its own value or fails after another storage removed and recommitted the checkpoint (${size})`, async () => {
      const table = tables.next();
      const one = await PostgresStorage.openRaw({ connectionString: DATABASE_URL, table });
      const two = await PostgresStorage.openRaw({ connectionString: DATABASE_URL, table });
      // Sliced: over one 8 MiB read slice, so the value is read in two statements.
      const original = size === 'small' ? 'original' : Buffer.alloc(9 * MiB, 1);
      const replacement = size === 'small' ? 'replacement' : Buffer.alloc(9 * MiB, 2);
      await commit(one, 'shared', { v: original, only: 'in the original' });
      const loaded = await one.loadCheckpoint('shared');
      await two.removeCheckpoint('shared');
      await commit(two, 'shared', { v: replacement });
      const read = await outcome(loaded.get('v'));
      if (read instanceof CheckpointError) {
        expect(read.kind).toBe('NotFound');
        expect(read.message).toBe(
          'Checkpoint "shared" was removed while this handle was open, by another process or storage object (a GuardWrapper stops removals only through its own storage object); load it again to read what is committed now.',
        );
      } else {
        expect(same(read, original)).toBe(true);
      }
      expect(await loaded.keys()).toEqual(['only', 'v']);
      const fresh = await one.loadCheckpoint('shared');
      expect(same(await fresh.get('v'), replacement)).toBe(true);
      await one.close();
      await two.close();
    });
  }
});
