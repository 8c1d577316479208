import { Pool } from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { listIdentifiersWithPrefix } from 'checkpointable';
import { PostgresStorage } from 'checkpointable/postgres';
import { summarizeCheckpoints } from '../../src/storage/checkpoint-summaries';
import { selectWithPrefix } from '../../src/storage/prefix-listing';
import { DATABASE_URL, postgresAnswers, sql, TestTables } from './postgres-server';
import { commit, failure } from '../fixtures/db/storage-test-helpers';

const tables = new TestTables();

/** Identifiers whose JavaScript order differs from their UTF-8 byte order. */
const TRICKY = [
  'p:a',
  'p:\u{1F600}', // UTF-16 D83D DE00: before U+E000 in JavaScript, after it in UTF-8
  'p:\uE000',
  'p:\uFFFD',
  'p:\u{10000}x',
  'p:z',
  'p;after',
  'o:before',
];

describe.runIf(postgresAnswers())('PostgresStorage labels, summaries and prefix listing', () => {
  afterAll(() => tables.dropAll());

  it('lists a prefix in JavaScript string order, both ways, with before and limit', async () => {
    const storage = await PostgresStorage.openRaw({
      connectionString: DATABASE_URL,
      table: tables.next(),
    });
    try {
      for (const id of TRICKY) await commit(storage, id, { n: 1 });
      const cases = [
        { prefix: 'p:' },
        { prefix: 'p:', options: { descending: true } },
        { prefix: 'p:', options: { descending: true, limit: 2 } },
        { prefix: 'p:', options: { limit: 3 } },
        { prefix: 'p:', options: { before: 'p:\uE000', descending: true, limit: 1 } },
        { prefix: 'p:', options: { before: 'p:\uFFFD' } },
        { prefix: '' },
        { prefix: 'p:\uD83D' }, // a lone high surrogate: the prefix of the emoji's pair
        { prefix: 'q' },
        { prefix: 'p:', options: { limit: 0 } },
      ];
      for (const { prefix, options } of cases) {
        const expected = selectWithPrefix(TRICKY, prefix, options);
        expect(await storage.checkpointIdentifiersWithPrefix(prefix, options)).toEqual(expected);
        expect(await listIdentifiersWithPrefix(storage, prefix, options)).toEqual(expected);
      }
      expect(selectWithPrefix(TRICKY, 'p:\uD83D')).toEqual(['p:\u{1F600}']);
    } finally {
      await storage.close();
    }
  });

  it('serves a prefix listing from the sort-key index', async () => {
    const table = tables.next();
    const storage = await PostgresStorage.openRaw({ connectionString: DATABASE_URL, table });
    await storage.close();
    // Enough rows that a sequential scan would cost more than the index, then fresh statistics.
    await sql(
      `INSERT INTO "${table}" (identifier, commit_token, sort_key)
       SELECT 's:' || lpad(i::text, 6, '0'), gen_random_uuid(), convert_to('x' || i, 'UTF8')
       FROM generate_series(1, 20000) AS i`,
    );
    await sql(`ANALYZE "${table}"`);
    const plan = await sql<{ 'QUERY PLAN': string }>(
      `EXPLAIN SELECT identifier, sort_key FROM "${table}"
       WHERE sort_key >= '\\x0073003a'::bytea AND sort_key < '\\x0073003b'::bytea
       ORDER BY sort_key DESC LIMIT 1`,
    );
    expect(plan.map((row) => row['QUERY PLAN']).join('\n')).toContain(
      `Index Scan Backward using ${table}_sort_key`,
    );
  });

  it('keeps labels of any characters, and summarizes keys and sizes without values', async () => {
    const storage = await PostgresStorage.open({
      connectionString: DATABASE_URL,
      table: tables.next(),
    });
    try {
      const labels = [
        'nul \u0000 and escape \u0001d800',
        'lone \uD800 and \uDFFF',
        '',
        '✓ \u{1F600}',
      ];
      for (const [i, label] of labels.entries()) await commit(storage, `l${i}`, { k: 'v' }, label);
      await commit(storage, 'sized', { small: 'x', big: 'y'.repeat(5000) });
      for (const [i, label] of labels.entries()) {
        const loaded = await storage.loadCheckpoint(`l${i}`);
        expect(loaded.label).toBe(label);
        await loaded.release();
      }
      const { summaries, damaged } = await summarizeCheckpoints(storage, [
        'sized',
        'l1',
        'missing',
      ]);
      expect(damaged).toEqual([]);
      expect(summaries.map((s) => s.identifier)).toEqual(['sized', 'l1']);
      expect(summaries[0].label).toBeUndefined();
      expect(summaries[0].keys).toEqual(['big', 'small']);
      expect(summaries[0].sizes!.get('big')!).toBeGreaterThan(5000);
      expect(summaries[0].sizes!.get('small')!).toBeLessThan(100);
      expect(summaries[1].label).toBe(labels[1]);
    } finally {
      await storage.close();
    }
  });

  it('summarizes a thousand checkpoints and more in one pass, in the order asked', async () => {
    const table = tables.next();
    const storage = await PostgresStorage.openRaw({ connectionString: DATABASE_URL, table });
    try {
      await commit(storage, 'real', { a: 1, b: 'two' }, 'labelled');
      await sql(
        `INSERT INTO "${table}" (identifier, commit_token, sort_key, key_list)
         SELECT 'bulk-' || lpad(i::text, 4, '0'), gen_random_uuid(), '\\x00', 'k/' || i
         FROM generate_series(1, 1200) AS i`,
      );
      const asked = [
        'missing',
        ...Array.from({ length: 1200 }, (_, i) => `bulk-${String(1200 - i).padStart(4, '0')}`),
        'real',
      ];
      const { summaries, damaged } = await storage.summarizeCheckpoints(asked);
      expect(damaged).toEqual([]);
      expect(summaries.map((s) => s.identifier)).toEqual(asked.slice(1));
      expect(summaries[0].sizes).toEqual(new Map([['k', 1200]]));
      const real = summaries[summaries.length - 1];
      expect([real.keys, real.label]).toEqual([['a', 'b'], 'labelled']);
    } finally {
      await storage.close();
    }
  });

  it('refuses a damaged label at load and reports it as damaged in summaries', async () => {
    const table = tables.next();
    const storage = await PostgresStorage.openRaw({ connectionString: DATABASE_URL, table });
    try {
      await commit(storage, 'stray', { k: 1 }, 'fine');
      await commit(storage, 'huge', { k: 1 }, 'fine');
      await commit(storage, 'good', { k: 1 }, 'fine');
      await sql(`UPDATE "${table}" SET label = E'a\\x01zzzz' WHERE identifier = 'stray'`);
      await sql(`UPDATE "${table}" SET label = repeat('x', 400000) WHERE identifier = 'huge'`);
      const stray = await failure(storage.loadCheckpoint('stray'));
      expect(stray.kind).toBe('Deserialize');
      expect(stray.message).toBe(
        `Checkpoint "stray" in PostgreSQL table ${table} is damaged: its label is not written the way labels are stored. Remove the checkpoint, or restore the table from a backup.`,
      );
      const huge = await failure(storage.loadCheckpoint('huge'));
      expect(huge.message).toContain('its label is 327681 characters long, longer than any label');
      const { summaries, damaged } = await storage.summarizeCheckpoints(['stray', 'good', 'huge']);
      expect(summaries.map((s) => s.identifier)).toEqual(['good']);
      expect(damaged.map((d) => [d.identifier, d.error.kind])).toEqual([
        ['stray', 'Deserialize'],
        ['huge', 'Deserialize'],
      ]);
    } finally {
      await storage.close();
    }
  });

  it('leaves a row whose sort key was tampered with out of prefix listings, and reports it', async () => {
    const table = tables.next();
    const storage = await PostgresStorage.openRaw({ connectionString: DATABASE_URL, table });
    try {
      for (const id of ['s:1', 's:2', 's:3']) await commit(storage, id, { k: 1 });
      // 's:3' claims the sort key of 's:0': it would sort first and sneak into a range.
      await sql(`UPDATE "${table}" SET sort_key = '\\x0073003a0030' WHERE identifier = 's:3'`);
      expect(await storage.checkpointIdentifiersWithPrefix('s:', { limit: 2 })).toEqual([
        's:1',
        's:2',
      ]);
      expect(await storage.listDamaged()).toEqual([
        {
          name: 's:3',
          reason:
            'checkpoint identifier: its sort_key does not match it, so prefix listings leave it out',
        },
      ]);
    } finally {
      await storage.close();
    }
  });

  it('migrates a schema 1 table in place: old rows still read, list by prefix and take labels', async () => {
    const table = tables.next();
    // The layout of schema 1, as the previous release created it.
    await sql(`CREATE TABLE "${table}" (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      identifier text COLLATE "C" NOT NULL UNIQUE,
      created_at timestamptz NOT NULL DEFAULT now(),
      commit_token uuid NOT NULL)`);
    await sql(`CREATE TABLE "${table}_values" (
      checkpoint_id bigint NOT NULL REFERENCES "${table}" (id) ON DELETE CASCADE,
      key text COLLATE "C" NOT NULL,
      value bytea NOT NULL,
      PRIMARY KEY (checkpoint_id, key))`);
    await sql(`COMMENT ON TABLE "${table}" IS 'checkpointable schema 1'`);
    const old = await PostgresStorage.openRaw({
      connectionString: DATABASE_URL,
      table: tables.next(),
    });
    const draft = await old.createCheckpoint('template');
    await draft.put('n', 42);
    const bytes = await draft.getBytes('n');
    await draft.discard();
    await old.close();
    for (const id of ['old:\uE000', 'old:\u{1F600}', 'old:a']) {
      const [row] = await sql<{ id: string }>(
        `INSERT INTO "${table}" (identifier, commit_token) VALUES ($1, gen_random_uuid()) RETURNING id`,
        [id],
      );
      await sql(`INSERT INTO "${table}_values" VALUES ($1, 'n', $2)`, [row.id, Buffer.from(bytes)]);
    }
    const storage = await PostgresStorage.openRaw({ connectionString: DATABASE_URL, table });
    try {
      const [comment] = await sql<{ comment: string }>(
        `SELECT obj_description($1::regclass, 'pg_class') AS comment`,
        [`"${table}"`],
      );
      expect(comment.comment).toBe('checkpointable schema 2');
      expect(await storage.checkpointIdentifiersWithPrefix('old:')).toEqual([
        'old:a',
        'old:\u{1F600}',
        'old:\uE000',
      ]);
      const loaded = await storage.loadCheckpoint('old:\u{1F600}');
      expect(await loaded.get('n')).toBe(42);
      expect(loaded.label).toBeUndefined();
      await loaded.release();
      await commit(storage, 'old:b', { n: 1 }, 'new');
      const { summaries } = await summarizeCheckpoints(storage, ['old:a', 'old:b']);
      expect(summaries.map((s) => [s.identifier, s.label, s.keys])).toEqual([
        ['old:a', undefined, ['n']],
        ['old:b', 'new', ['n']],
      ]);
    } finally {
      await storage.close();
    }
  });

  it('refuses a table that claims schema 2 without its columns: a migration that did not run', async () => {
    const table = tables.next();
    await (await PostgresStorage.open({ connectionString: DATABASE_URL, table })).close();
    await sql(`ALTER TABLE "${table}" DROP COLUMN label`);
    const error = await failure(PostgresStorage.open({ connectionString: DATABASE_URL, table }));
    expect(error.kind).toBe('Initialization');
    expect(error.message).toBe(
      `PostgreSQL table ${table} says it holds checkpointable schema 2 but lacks the column label: its migration did not run or was undone. Restore the table from a backup, or set its comment back to 'checkpointable schema 1' so that open() migrates it again.`,
    );
    await sql(`COMMENT ON TABLE "${table}" IS 'checkpointable schema 1'`);
    await (await PostgresStorage.open({ connectionString: DATABASE_URL, table })).close();
  });

  it('creates with checkExists: false without a round trip; the commit still refuses an existing identifier', async () => {
    const pool = new Pool({ connectionString: DATABASE_URL, max: 2 });
    let acquired = 0;
    pool.on('acquire', () => acquired++);
    const storage = await PostgresStorage.openRaw({ pool, table: tables.next() });
    try {
      await commit(storage, 'taken', { n: 1 });
      const before = acquired;
      const draft = await storage.createCheckpoint('taken', { checkExists: false });
      expect(acquired).toBe(before);
      await draft.put('n', 2);
      const error = await failure(storage.commitCheckpoint(draft));
      expect(error.kind).toBe('AlreadyExists');
      expect(acquired).toBe(before + 1);
      const checked = await failure(storage.createCheckpoint('taken'));
      expect(checked.kind).toBe('AlreadyExists');
    } finally {
      await storage.close();
      await pool.end();
    }
  });
});
