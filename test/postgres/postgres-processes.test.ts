import { afterAll, describe, expect, it } from 'vitest';
import { PostgresStorage } from 'checkpointable/postgres';
import { checkWorkers, commitConcurrently } from '../fixtures/db/check-workers';
import { runWorkers } from '../fixtures/db/run-workers';
import { DATABASE_URL, postgresAnswers, sql, TestTables } from './postgres-server';

const tables = new TestTables();

describe.runIf(postgresAnswers())('PostgresStorage across processes', () => {
  afterAll(() => tables.dropAll());

  it('4 processes x 100 commits on one table: none lost, none torn, one winner per contested identifier', async () => {
    const table = tables.next();
    const reader = await PostgresStorage.open({ connectionString: DATABASE_URL, table });
    try {
      const result = await runWorkers('postgres', DATABASE_URL, table, 4, 100, reader);
      await checkWorkers(result, reader, 4, 100);
      // The values table holds the winners' rows only: losers' rows were rolled back.
      const [{ n }] = await sql<{ n: string }>(`SELECT count(*) AS n FROM "${table}_values"`);
      expect(Number(n)).toBe(250 * 4);
    } finally {
      await reader.close();
    }
  });

  it('100 concurrent commits from one process all land whole', async () => {
    const table = tables.next();
    const storage = await PostgresStorage.open({ connectionString: DATABASE_URL, table });
    try {
      await commitConcurrently(storage, 100);
    } finally {
      await storage.close();
    }
  });
});
