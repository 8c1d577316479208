import 'reflect-metadata';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { container } from 'tsyringe';
import { afterAll, describe, expect, it } from 'vitest';
import { FileStorage, parseStorageUrl, registerCheckpointing } from 'checkpointable';
import { PostgresStorage } from 'checkpointable/postgres';
import { RedisStorage } from 'checkpointable/redis';
import { openStorage } from '../../src/di/storage-source';
import { expectCheckpointError } from '../fixtures/manager/expect-error';
import { DATABASE_URL, postgresAnswers, sql, TestTables } from '../postgres/postgres-server';
import { keysUnder, REDIS_URL, redisAnswers, TestPrefixes } from '../redis/redis-server';
import Redis from 'ioredis';

describe('storage URL options', () => {
  it('takes table, prefix and durability out of the URL, leaving the driver its own parameters', () => {
    expect(parseStorageUrl('postgres://u:p@db:5432/app?table=orders_ckpt')).toEqual({
      kind: 'postgres',
      connectionString: 'postgres://u:p@db:5432/app',
      table: 'orders_ckpt',
    });
    expect(
      parseStorageUrl(
        'postgresql://db/app?sslmode=require&table=app.checkpoints&application_name=x',
      ),
    ).toEqual({
      kind: 'postgres',
      connectionString: 'postgresql://db/app?sslmode=require&application_name=x',
      table: 'app.checkpoints',
    });
    expect(parseStorageUrl('redis://:pw@cache:6379/2?prefix=orders:')).toEqual({
      kind: 'redis',
      url: 'redis://:pw@cache:6379/2',
      prefix: 'orders:',
    });
    expect(parseStorageUrl('rediss://cache?prefix=%7Borders%7D%3A')).toEqual({
      kind: 'redis',
      url: 'rediss://cache',
      prefix: '{orders}:',
    });
    expect(parseStorageUrl('file:./var/cp?durability=atomic')).toEqual({
      kind: 'file',
      path: resolve('var/cp'),
      durability: 'atomic',
    });
    expect(parseStorageUrl('file:///srv/my%20cp?durability=durable')).toEqual({
      kind: 'file',
      path: '/srv/my cp',
      durability: 'durable',
    });
    // A '#' is part of a path or a value, never a fragment that hides the options.
    expect(parseStorageUrl('file:./var/c#1?durability=atomic')).toEqual({
      kind: 'file',
      path: resolve('var/c#1'),
      durability: 'atomic',
    });
    expect(parseStorageUrl('redis://cache?prefix=a#b')).toEqual({
      kind: 'redis',
      url: 'redis://cache',
      prefix: 'a#b',
    });
    // Without options, URLs are passed on exactly as written.
    expect(parseStorageUrl('postgres://u:p@db/app?sslmode=disable')).toEqual({
      kind: 'postgres',
      connectionString: 'postgres://u:p@db/app?sslmode=disable',
    });
  });

  it('refuses bad values naming the parameter, never showing the URL or the value', async () => {
    const cases: [string, string][] = [
      [
        'postgres://admin:s3cret@db/app?table=orders;drop',
        "The 'table' parameter of the checkpoint storage URL (postgres:) is not usable; use a table name of letters, digits and '_', optionally after a schema and a dot, such as 'orders_ckpt' or 'app.checkpoints'.",
      ],
      [
        'postgresql://admin:s3cret@db/app?table=',
        "The 'table' parameter of the checkpoint storage URL (postgresql:) is not usable; use a table name of letters, digits and '_', optionally after a schema and a dot, such as 'orders_ckpt' or 'app.checkpoints'.",
      ],
      [
        `postgres://admin:s3cret@db/app?table=${'t'.repeat(52)}`,
        "The 'table' parameter of the checkpoint storage URL (postgres:) is not usable; use a table name of letters, digits and '_', optionally after a schema and a dot, such as 'orders_ckpt' or 'app.checkpoints'.",
      ],
      [
        'postgres://admin:s3cret@db/app?table=a&table=b',
        "The 'table' parameter of the checkpoint storage URL (postgres:) is given twice; give it once.",
      ],
      [
        'redis://:s3cret@cache?prefix=',
        "The 'prefix' parameter of the checkpoint storage URL (redis:) is not usable; use 1 to 200 characters without control characters, such as 'orders:' (percent-encode '&', '#' and '+').",
      ],
      [
        'redis://:s3cret@cache?prefix=a%0Ab',
        "The 'prefix' parameter of the checkpoint storage URL (redis:) is not usable; use 1 to 200 characters without control characters, such as 'orders:' (percent-encode '&', '#' and '+').",
      ],
      [
        'file:./var/cp?durability=fast',
        "The 'durability' parameter of the checkpoint storage URL (file:) is not usable; use either 'durable' (the default) or 'atomic'.",
      ],
      [
        'file:./var/cp?durability=atomic&durability=durable',
        "The 'durability' parameter of the checkpoint storage URL (file:) is given twice; give it once.",
      ],
      [
        'file:./var/cp?table=x',
        'The checkpoint storage URL (file:) has the parameter "table", which it does not take; a file: URL takes only \'durability\'.',
      ],
      [
        'file:?durability=atomic',
        "The checkpoint storage is configured as a 'file:' URL; use one of: 'memory:', 'file:./path', 'postgres://...', 'redis://...', a Storage object or a factory function.",
      ],
    ];
    for (const [url, message] of cases) {
      const error = await expectCheckpointError(
        () => parseStorageUrl(url),
        'Initialization',
        message,
      );
      expect(error.message).not.toContain('s3cret');
    }
  });

  it('opens a file storage with the durability the URL gives', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cp-url-'));
    const atomic = await openStorage(`file:${dir}?durability=atomic`, true);
    expect(atomic).toBeInstanceOf(FileStorage);
    expect((atomic as FileStorage).durability).toBe('atomic');
    await atomic.close();
    const durable = await openStorage(`file:${dir}`, true);
    expect((durable as FileStorage).durability).toBe('durable');
    await durable.close();
  });
});

describe.runIf(postgresAnswers())('postgres://...?table=', () => {
  const tables = new TestTables();
  afterAll(() => tables.dropAll());

  it('keeps checkpoints in the table the URL names', async () => {
    const table = tables.next();
    const raw = await openStorage(`${DATABASE_URL}?table=${table}`, true);
    expect(raw).toBeInstanceOf(PostgresStorage);
    expect((raw as PostgresStorage).table).toBe(table);
    await raw.close();

    const c = container.createChildContainer();
    const manager = await registerCheckpointing(c, { storage: `${DATABASE_URL}?table=${table}` });
    await manager.save('in-my-table', { n: 1 });
    const rows = await sql<{ identifier: string }>(`SELECT identifier FROM "${table}"`);
    expect(rows.map((r) => r.identifier)).toEqual(['in-my-table']);
    await c.dispose();
  });
});

describe.runIf(redisAnswers())('redis://...?prefix=', () => {
  const prefixes = new TestPrefixes();
  afterAll(() => prefixes.dropAll());

  it('keeps checkpoints under the prefix the URL names', async () => {
    const prefix = prefixes.next();
    const raw = await openStorage(`${REDIS_URL}?prefix=${encodeURIComponent(prefix)}`, true);
    expect(raw).toBeInstanceOf(RedisStorage);
    expect((raw as RedisStorage).prefix).toBe(prefix);
    await raw.close();

    const c = container.createChildContainer();
    const manager = await registerCheckpointing(c, {
      storage: `${REDIS_URL}?prefix=${encodeURIComponent(prefix)}`,
    });
    await manager.save('under-my-prefix', { n: 1 });
    const client = new Redis(REDIS_URL);
    try {
      expect(await keysUnder(client, prefix)).toContain(`${prefix}index`);
    } finally {
      await client.quit();
    }
    await c.dispose();
  });
});
