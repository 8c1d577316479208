import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/** The database the PostgreSQL suites use; `DATABASE_URL` overrides it. */
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const HOW_TO_START =
  'start it (`pg_ctlcluster 15 main start`, or `.ci/run`, which also creates the database `test`) or point DATABASE_URL at one';

/**
 * Whether the PostgreSQL server answers. Without `CI` a silent server skips the suites
 * with one line saying what to start; under `CI=true` it fails the run, so CI can never
 * pass by skipping. Synchronous (a short child process), because Vitest decides what to
 * skip while collecting, before any hook runs.
 *
 * @example
 * ```ts
 * describe.runIf(postgresAnswers())('PostgresStorage', () => { ... });
 * ```
 */
export function postgresAnswers(): boolean {
  const probe = `
    const { Client } = require('pg');
    const client = new Client({ connectionString: process.argv[1], connectionTimeoutMillis: 3000 });
    client.on('error', () => {});
    client.connect().then(() => client.query('SELECT 1')).then(
      () => client.end().then(() => process.exit(0)),
      (error) => { process.stderr.write(error.message || String(error)); process.exit(1); },
    );`;
  const result = spawnSync(process.execPath, ['-e', probe, DATABASE_URL], {
    encoding: 'utf8',
    timeout: 15_000,
  });
  if (result.status === 0) return true;
  const where = new URL(DATABASE_URL).host;
  const reason = result.stderr.trim() || result.error?.message || 'no answer';
  const line = `PostgreSQL does not answer at ${where} (${reason}): ${HOW_TO_START}.`;
  if (isCi()) throw new Error(`CI=true and ${line}`);
  console.warn(`Skipping the PostgreSQL suites. ${line}`);
  return false;
}

function isCi(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
}

/**
 * Hands out table names unique to this run, and drops every table it handed out.
 *
 * @example
 * ```ts
 * const tables = new TestTables();
 * afterAll(() => tables.dropAll());
 * await PostgresStorage.open({ connectionString: DATABASE_URL, table: tables.next() });
 * ```
 */
export class TestTables {
  private readonly made: string[] = [];
  private readonly run = randomBytes(4).toString('hex');
  private count = 0;

  /** A new table name, such as `cp_test_1a2b3c4d_7`. */
  next(): string {
    const name = `cp_test_${this.run}_${this.count++}`;
    this.made.push(name);
    return name;
  }

  /** Drops the tables handed out (those never created are skipped). */
  async dropAll(): Promise<void> {
    const names = this.made.splice(0);
    if (names.length === 0) return;
    const client = new Client({ connectionString: DATABASE_URL });
    await client.connect();
    try {
      for (const name of names)
        await client.query(`DROP TABLE IF EXISTS "${name}_values", "${name}"`);
    } finally {
      await client.end();
    }
  }
}

/**
 * Runs one statement on its own connection (for inspecting tables, killing backends).
 *
 * @example
 * ```ts
 * const rows = await sql<{ n: string }>('SELECT count(*) AS n FROM "t"');
 * ```
 */
export async function sql<R extends object = Record<string, unknown>>(
  text: string,
  params: unknown[] = [],
): Promise<R[]> {
  const client = new Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    return (await client.query<R>(text, params)).rows;
  } finally {
    await client.end();
  }
}
