import { afterAll, describe } from 'vitest';
import type { Storage } from 'checkpointable';
import { PostgresStorage } from 'checkpointable/postgres';
import { storageConformance } from 'checkpointable/testing';
import { DATABASE_URL, postgresAnswers, TestTables } from './postgres-server';

const up = postgresAnswers();
const tables = new TestTables();
const tableOf = new WeakMap<Storage, string>();

async function open(table: string, raw: boolean): Promise<Storage> {
  const options = { connectionString: DATABASE_URL, table };
  const storage = raw
    ? await PostgresStorage.openRaw(options)
    : await PostgresStorage.open(options);
  tableOf.set(storage, table);
  return storage;
}

describe.runIf(up)('PostgresStorage conformance', () => {
  afterAll(() => tables.dropAll());

  storageConformance('PostgresStorage.open() (guarded)', {
    create: () => open(tables.next(), false),
    reopen: (s) => open(tableOf.get(s)!, false),
    capabilities: { guarded: true },
  });

  storageConformance('PostgresStorage.openRaw() (bare)', {
    create: () => open(tables.next(), true),
    reopen: (s) => open(tableOf.get(s)!, true),
    capabilities: { guarded: false },
  });
});
