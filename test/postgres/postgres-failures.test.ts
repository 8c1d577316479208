import { randomBytes } from 'node:crypto';
import { Client, Pool } from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { CheckpointError } from 'checkpointable';
import { PostgresStorage } from 'checkpointable/postgres';
import { closedPort } from '../fixtures/db/closed-port';
import { cuttingProxy } from '../fixtures/db/cutting-proxy';
import { silentServer } from '../fixtures/db/silent-server';
import { DATABASE_URL, postgresAnswers, sql, TestTables } from './postgres-server';

const tables = new TestTables();

async function failure(promise: Promise<unknown>): Promise<CheckpointError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CheckpointError);
  return error as CheckpointError;
}

describe('PostgresStorage.open() refusals that need no server', () => {
  it('reports an unreachable server as Initialization naming host and port, never the password', async () => {
    const port = await closedPort();
    const error = await failure(
      PostgresStorage.open({ connectionString: `postgres://app:s3cr3t-pw@127.0.0.1:${port}/test` }),
    );
    expect(error.kind).toBe('Initialization');
    expect(error.message).toBe(
      `PostgresStorage could not connect (PostgreSQL at 127.0.0.1:${port}, table checkpointable): connect ECONNREFUSED 127.0.0.1:${port}. Check that the server is running and reachable from here, and that the connection string (user, database, password) is right.`,
    );
    expect(error.message).not.toContain('s3cr3t');
  });

  it('gives up on a server that accepts but never answers, after connectTimeoutMs', async () => {
    const silent = await silentServer();
    try {
      const error = await failure(
        PostgresStorage.open({
          connectionString: `postgres://app:s3cr3t-pw@127.0.0.1:${silent.port}/test`,
          connectTimeoutMs: 300,
        }),
      );
      expect(error.kind).toBe('Initialization');
      expect(error.message).toBe(
        `PostgresStorage could not connect (PostgreSQL at 127.0.0.1:${silent.port}, table checkpointable): Connection terminated due to connection timeout. Check that the server is running and reachable from here, and that the connection string (user, database, password) is right.`,
      );
      // A borrowed pool without a time-out of its own: open still gives up.
      const pool = new Pool({ connectionString: `postgres://app@127.0.0.1:${silent.port}/test` });
      pool.on('error', () => undefined);
      const borrowed = await failure(PostgresStorage.open({ pool, connectTimeoutMs: 300 }));
      expect(borrowed.kind).toBe('Initialization');
      expect(borrowed.message).toBe(
        `PostgresStorage could not connect (PostgreSQL at 127.0.0.1:${silent.port}, table checkpointable): no answer within 300 ms (connectTimeoutMs). Check that the server is running and reachable from here, and that the connection string (user, database, password) is right.`,
      );
      await silent.close();
      await pool.end();
    } finally {
      await silent.close().catch(() => undefined);
    }
  });

  it('needs a connection string or a pool', async () => {
    const error = await failure(PostgresStorage.open({}));
    expect(error.kind).toBe('Initialization');
    expect(error.message).toBe(
      'PostgresStorage.open() needs a connectionString (such as "postgres://user@host:5432/database") or a pg Pool as `pool`.',
    );
  });

  it('refuses a table name that is not a plain SQL name, before connecting', async () => {
    for (const table of ['drop table x;--', 'a.b.c', '', 'x'.repeat(52)]) {
      const error = await failure(PostgresStorage.open({ connectionString: DATABASE_URL, table }));
      expect(error.kind).toBe('Initialization');
      expect(error.message).toContain(
        `PostgresStorage table ${JSON.stringify(table)} is not a usable name`,
      );
    }
  });

  it('refuses unusable time-outs', async () => {
    const error = await failure(
      PostgresStorage.open({ connectionString: DATABASE_URL, connectTimeoutMs: -1 }),
    );
    expect(error.message).toBe(
      'PostgresStorage option connectTimeoutMs must be a whole number of milliseconds (1 or more), not -1.',
    );
  });
});

describe.runIf(postgresAnswers())('PostgresStorage against a live server', () => {
  afterAll(() => tables.dropAll());

  it('reports a missing database as Initialization without the password', async () => {
    const url = new URL(DATABASE_URL);
    url.password = 'pw-n0t-shown';
    url.pathname = '/no_such_database_cp';
    const error = await failure(PostgresStorage.open({ connectionString: url.toString() }));
    expect(error.kind).toBe('Initialization');
    expect(error.message).toContain(`PostgreSQL at ${url.host}`);
    expect(error.message).toContain('database "no_such_database_cp" does not exist');
    expect(error.message).not.toContain('pw-n0t-shown');
  });

  it('creates both tables with a schema version, and opens them again', async () => {
    const table = tables.next();
    await (await PostgresStorage.open({ connectionString: DATABASE_URL, table })).close();
    const [row] = await sql<{ comment: string }>(
      `SELECT obj_description($1::regclass, 'pg_class') AS comment`,
      [`"${table}"`],
    );
    expect(row.comment).toBe('checkpointable schema 2');
    const columns = await sql<{ table_name: string; column_name: string }>(
      `SELECT table_name, column_name FROM information_schema.columns
       WHERE table_name IN ($1, $2) ORDER BY table_name, ordinal_position`,
      [table, `${table}_values`],
    );
    expect(columns.map((c) => `${c.table_name === table ? 't' : 'v'}.${c.column_name}`)).toEqual([
      't.id',
      't.identifier',
      't.created_at',
      't.commit_token',
      't.label',
      't.sort_key',
      't.key_list',
      'v.checkpoint_id',
      'v.key',
      'v.value',
    ]);
    await (await PostgresStorage.open({ connectionString: DATABASE_URL, table })).close();
  });

  it('creates the schema once when many instances open at the same moment', async () => {
    const table = tables.next();
    const opened = await Promise.all(
      Array.from({ length: 6 }, () =>
        PostgresStorage.open({ connectionString: DATABASE_URL, table }),
      ),
    );
    for (const storage of opened) await storage.close();
  });

  it('refuses a table that is not a checkpointable table, and a newer schema version', async () => {
    const foreign = tables.next();
    await sql(`CREATE TABLE "${foreign}" (x int)`);
    const error = await failure(
      PostgresStorage.open({ connectionString: DATABASE_URL, table: foreign }),
    );
    expect(error.kind).toBe('Initialization');
    expect(error.message).toBe(
      `PostgreSQL table ${foreign} exists but is not a checkpointable table (its comment is not 'checkpointable schema N'); choose another table name with the \`table\` option.`,
    );
    const newer = tables.next();
    await (await PostgresStorage.open({ connectionString: DATABASE_URL, table: newer })).close();
    await sql(`COMMENT ON TABLE "${newer}" IS 'checkpointable schema 3'`);
    const version = await failure(
      PostgresStorage.open({ connectionString: DATABASE_URL, table: newer }),
    );
    expect(version.kind).toBe('Version');
    expect(version.message).toBe(
      `PostgreSQL table ${newer} holds checkpointable schema 3, but this release reads schema 2; upgrade checkpointable to the release that wrote it.`,
    );
  });

  it('refuses a checkpoint table whose values table is gone', async () => {
    const table = tables.next();
    await (await PostgresStorage.open({ connectionString: DATABASE_URL, table })).close();
    await sql(`DROP TABLE "${table}_values"`);
    const error = await failure(PostgresStorage.open({ connectionString: DATABASE_URL, table }));
    expect(error.kind).toBe('Initialization');
    expect(error.message).toBe(
      `PostgreSQL table ${table} has lost its values table ${table}_values, so its checkpoints cannot be read; restore that table from a backup, or drop ${table} and let open() create both again.`,
    );
  });

  // 1 key commits in one prepared statement (prepared by an earlier commit on the same,
  // only, connection); 20 keys in one statement that is not prepared (over 16 values);
  // 1,200 keys in BEGIN, three INSERTs, COMMIT.
  for (const count of [1, 20, 1200]) {
    it(`leaves nothing visible and raises Io when the connection dies mid-commit (${count} keys); the handle can retry`, async () => {
      const table = tables.next();
      const app = `cp-kill-${randomBytes(4).toString('hex')}`;
      const storage = await PostgresStorage.openRaw({
        connectionString: DATABASE_URL,
        table,
        applicationName: app,
        maxConnections: 1,
      });
      const warm = count === 1;
      if (warm) {
        const first = await storage.createCheckpoint('warm');
        await first.put('k0', { i: 0, pad: 'x'.repeat(1000) });
        await (await storage.commitCheckpoint(first)).release();
      }
      const draft = await storage.createCheckpoint('doomed');
      for (let i = 0; i < count; i++) await draft.put(`k${i}`, { i, pad: 'x'.repeat(1000) });
      // Another session holds a lock the commit's value INSERT must wait for: the commit
      // is then provably inside its transaction (checkpoint row inserted, values pending).
      const locker = new Client({ connectionString: DATABASE_URL });
      await locker.connect();
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE "${table}_values" IN SHARE MODE`);
      const commit = storage.commitCheckpoint(draft).then(
        () => undefined,
        (e: unknown) => e,
      );
      let killed = 0;
      while (killed === 0) {
        const rows = await sql<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
          [app],
        );
        for (const { pid } of rows) {
          await sql('SELECT pg_terminate_backend($1)', [pid]);
          killed++;
        }
      }
      await locker.query('ROLLBACK');
      await locker.end();
      const error = (await commit) as CheckpointError;
      expect(error).toBeInstanceOf(CheckpointError);
      expect(error.kind).toBe('Io');
      expect(error.identifier).toBe('doomed');
      expect(error.message).toMatch(
        /^PostgresStorage could not commit checkpoint "doomed" \(PostgreSQL at [^,]+, table cp_test_\w+\): .*terminat.*\. The transaction was rolled back, so no part of the checkpoint is visible, and the handle is still open: retry commitCheckpoint\(\) with it, or discard it\./,
      );
      // Nothing of it anywhere: not listed, not loadable, no row in either table.
      const other = await PostgresStorage.openRaw({ connectionString: DATABASE_URL, table });
      expect(await other.checkpointIdentifiers()).toEqual(warm ? ['warm'] : []);
      expect((await failure(other.loadCheckpoint('doomed'))).kind).toBe('NotFound');
      const [counts] = await sql<{ c: string; v: string }>(
        `SELECT (SELECT count(*) FROM "${table}") AS c, (SELECT count(*) FROM "${table}_values") AS v`,
      );
      expect(counts).toEqual(warm ? { c: '1', v: '1' } : { c: '0', v: '0' });
      // The handle survived the failure; the pool replaced the dead connection.
      const saved = await storage.commitCheckpoint(draft);
      expect(await saved.get(`k${count - 1}`)).toEqual({ i: count - 1, pad: 'x'.repeat(1000) });
      await saved.release();
      const loaded = await other.loadCheckpoint('doomed');
      expect((await loaded.keys()).length).toBe(count);
      for (const i of [0, 499, 500, count - 1].filter((n) => n < count))
        expect(await loaded.get(`k${i}`)).toEqual({ i, pad: 'x'.repeat(1000) });
      await loaded.release();
      await other.close();
      await storage.close();
    });
  }

  // First use: the statement's text travels with it (Parse). Prepared: only its name and
  // parameters travel, so the proxy watches for the identifier, which only the commit's
  // parameters carry once the draft exists.
  for (const prepared of [false, true]) {
    it(`recognises its own commit when the reply was lost, so the retry succeeds (${prepared ? 'statement already prepared' : 'first use of the statement'})`, async () => {
      const table = tables.next();
      const url = new URL(DATABASE_URL);
      const proxy = await cuttingProxy(url.hostname, Number(url.port || 5432));
      try {
        url.port = String(proxy.port);
        const storage = await PostgresStorage.openRaw({
          connectionString: url.toString(),
          table,
          maxConnections: 1,
        });
        if (prepared) {
          const warm = await storage.createCheckpoint('warm');
          await warm.put('v', 'warm');
          await (await storage.commitCheckpoint(warm)).release();
        }
        const draft = await storage.createCheckpoint('landed');
        await draft.put('v', 'first attempt');
        const cut = proxy.cutReplyTo(prepared ? 'landed' : 'INSERT INTO');
        const error = await failure(storage.commitCheckpoint(draft));
        await cut;
        expect(error.kind).toBe('Io');
        // The server committed; only the reply was lost, so the client could not know.
        const other = await PostgresStorage.openRaw({ connectionString: DATABASE_URL, table });
        expect(await other.checkpointIdentifiers()).toEqual(
          prepared ? ['landed', 'warm'] : ['landed'],
        );
        // Retrying with the same handle finds its own row: success, not AlreadyExists.
        const saved = await storage.commitCheckpoint(draft);
        expect(await saved.get('v')).toBe('first attempt');
        await saved.release();
        // Any other writer is still refused.
        expect((await failure(other.createCheckpoint('landed'))).kind).toBe('AlreadyExists');
        const [{ n }] = await sql<{ n: string }>(`SELECT count(*) AS n FROM "${table}_values"`);
        expect(n).toBe(prepared ? '2' : '1');
        await other.close();
        await storage.close();
      } finally {
        await proxy.close();
      }
    });
  }

  it('prepares its statements once per connection, unless told not to, and survives the tables being recreated under them', async () => {
    const table = tables.next();
    const open = (prepareStatements?: boolean) =>
      PostgresStorage.openRaw({
        connectionString: DATABASE_URL,
        table,
        maxConnections: 1, // so that pg_prepared_statements below is the storage's session
        ...(prepareStatements === undefined ? {} : { prepareStatements }),
      });
    const commit = async (storage: PostgresStorage, id: string, keys: number) => {
      const draft = await storage.createCheckpoint(id);
      for (let i = 0; i < keys; i++) await draft.put(`k${i}`, i);
      await (await storage.commitCheckpoint(draft)).release();
    };
    const prepared = async (storage: PostgresStorage) =>
      (
        await storage.pool.query<{ statement: string }>(
          `SELECT statement FROM pg_prepared_statements WHERE name LIKE 'checkpointable\\_%' ORDER BY statement`,
        )
      ).rows.map((r) => r.statement.replace(/\s+/g, ' ').slice(0, 40));
    const storage = await open();
    await commit(storage, 'a', 1);
    await commit(storage, 'b', 1); // the same statements again: nothing new prepared
    await commit(storage, 'c', 17); // over 16 values: not prepared
    const loaded = await storage.loadCheckpoint('a');
    expect(await loaded.get('k0')).toBe(0);
    await loaded.release();
    expect(await prepared(storage)).toEqual(
      [
        'SELECT 1 FROM "' + table + '" WHERE identifier = $1',
        'SELECT octet_length(value) AS size, encod',
        'WITH c AS (INSERT INTO "' + table + '" (identifier, ',
        'WITH c AS (SELECT id, created_at, left(label, ',
      ].map((text) => text.slice(0, 40)),
    );
    // Tables dropped and created again (a restore, a manual reset): the server re-plans
    // the prepared statements by itself.
    await sql(`DROP TABLE "${table}_values", "${table}"`);
    await (await PostgresStorage.openRaw({ connectionString: DATABASE_URL, table })).close();
    await commit(storage, 'a', 1);
    expect(await storage.checkpointIdentifiers()).toEqual(['a']);
    await storage.close();
    const plain = await open(false);
    await commit(plain, 'd', 1);
    expect(await plain.checkpointIdentifiers()).toEqual(['a', 'd']);
    expect(await prepared(plain)).toEqual([]);
    await plain.close();
    expect((await failure(open('yes' as unknown as boolean))).message).toBe(
      'PostgresStorage option prepareStatements must be true or false, not yes.',
    );
  });

  it('keeps working after the server drops its idle connections', async () => {
    const table = tables.next();
    const app = `cp-idle-${randomBytes(4).toString('hex')}`;
    const storage = await PostgresStorage.open({
      connectionString: DATABASE_URL,
      table,
      applicationName: app,
    });
    const draft = await storage.createCheckpoint('before');
    await draft.put('v', 1);
    await (await storage.commitCheckpoint(draft)).release();
    const [{ n }] = await sql<{ n: number }>(
      `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = $1`,
      [app],
    );
    expect(n).toBeGreaterThan(0);
    // The pool hears of the dead connections; reading may race that, so allow one Io.
    const list = await storage.checkpointIdentifiers().catch(() => storage.checkpointIdentifiers());
    expect(list).toEqual(['before']);
    await storage.close();
  });

  it('borrows a pool without ending it, and ends the pool it made', async () => {
    const table = tables.next();
    const pool = new Pool({ connectionString: DATABASE_URL });
    const borrowed = await PostgresStorage.open({ pool, table });
    await borrowed.close();
    expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await pool.end();
    const own = await PostgresStorage.openRaw({ connectionString: DATABASE_URL, table });
    await own.close();
    expect(own.pool.ended).toBe(true);
  });
});
