import { afterAll, describe } from 'vitest';
import { PostgresStorage } from 'checkpointable/postgres';
import { RedisStorage } from 'checkpointable/redis';
import { validateSaver } from '../fixtures/langgraph/validate-saver';
import { DATABASE_URL, postgresAnswers, TestTables } from '../postgres/postgres-server';
import { REDIS_URL, redisAnswers, TestPrefixes } from '../redis/redis-server';

const tables = new TestTables();
const prefixes = new TestPrefixes();

describe.runIf(postgresAnswers())('LangGraph validation on PostgreSQL', () => {
  afterAll(() => tables.dropAll());
  validateSaver('PostgresStorage', () =>
    PostgresStorage.open({ connectionString: DATABASE_URL, table: tables.next() }),
  );
});

describe.runIf(redisAnswers())('LangGraph validation on Redis', () => {
  afterAll(() => prefixes.dropAll());
  validateSaver('RedisStorage', () =>
    RedisStorage.open({ url: REDIS_URL, prefix: prefixes.next() }),
  );
});
