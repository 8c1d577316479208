import { afterAll, describe } from 'vitest';
import { buildWrapperChain, RECOMMENDED_WRAPPER_ORDER, type Storage } from 'checkpointable';
import { PostgresStorage } from 'checkpointable/postgres';
import { storageConformance } from 'checkpointable/testing';
import { DATABASE_URL, postgresAnswers, TestTables } from './postgres-server';
import { RECOMMENDED_CHAIN } from '../wrappers/chains';

const up = postgresAnswers();
const tables = new TestTables();
const tableOf = new WeakMap<Storage, string>();

async function chained(table: string): Promise<Storage> {
  const storage = buildWrapperChain(await open(table, true), RECOMMENDED_CHAIN);
  tableOf.set(storage, table);
  return storage;
}

async function open(table: string, raw: boolean): Promise<Storage> {
  const options = { connectionString: DATABASE_URL, table };
  const storage = raw
    ? await PostgresStorage.openRaw(options)
    : await PostgresStorage.open(options);
  tableOf.set(storage, table);
  return storage;
}

/** With `prepareStatements: false`, as behind a pooler that cannot keep them apart. */
async function openUnprepared(table: string): Promise<Storage> {
  const storage = await PostgresStorage.openRaw({
    connectionString: DATABASE_URL,
    table,
    prepareStatements: false,
  });
  tableOf.set(storage, table);
  return storage;
}

describe.runIf(up)('PostgresStorage conformance', () => {
  afterAll(() => tables.dropAll());

  storageConformance('PostgresStorage.open() (guarded)', {
    create: () => open(tables.next(), false),
    reopen: (s) => open(tableOf.get(s)!, false),
    capabilities: { guarded: true, labels: true },
  });

  storageConformance('PostgresStorage.openRaw() (bare)', {
    create: () => open(tables.next(), true),
    reopen: (s) => open(tableOf.get(s)!, true),
    capabilities: { guarded: false, labels: true },
  });

  storageConformance('PostgresStorage.openRaw() (bare), statements not prepared', {
    create: () => openUnprepared(tables.next()),
    reopen: (s) => openUnprepared(tableOf.get(s)!),
    capabilities: { guarded: false, labels: true },
  });

  storageConformance(`PostgresStorage.openRaw() under [${RECOMMENDED_WRAPPER_ORDER.join(', ')}]`, {
    create: () => chained(tables.next()),
    reopen: (s) => chained(tableOf.get(s)!),
    capabilities: { guarded: true, labels: true },
  });
});
