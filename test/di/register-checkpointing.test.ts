import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { container, inject, injectable } from 'tsyringe';
import { describe, expect, it } from 'vitest';
import {
  CHECKPOINT_STORAGE,
  CheckpointManager,
  FileStorage,
  MemoryStorage,
  parseStorageUrl,
  registerCheckpointing,
  type Storage,
} from 'checkpointable';
import { Order, sampleOrder } from '../fixtures/manager/domain';
import { expectCheckpointError } from '../fixtures/manager/expect-error';
import { DATABASE_URL, postgresAnswers } from '../postgres/postgres-server';
import { REDIS_URL, redisAnswers } from '../redis/redis-server';

/** A NestJS-style service: the manager is injected by type. */
@injectable()
class OrderBook {
  constructor(
    readonly manager: CheckpointManager,
    @inject(CHECKPOINT_STORAGE) readonly storage: Storage,
  ) {}
}

const KEY = 'k'.repeat(32);

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'cp-di-'));
}

describe('registerCheckpointing', () => {
  it('registers the storage and one manager, injectable by type, in a child container', async () => {
    const child = container.createChildContainer();
    const manager = await registerCheckpointing(child, { storage: 'memory:' });
    const book = child.resolve(OrderBook);
    expect(book.manager).toBe(manager);
    expect(child.resolve(CheckpointManager)).toBe(manager);
    expect(book.storage).toBe(child.resolve<Storage>(CHECKPOINT_STORAGE));
    await book.manager.save('order-42', { order: sampleOrder() });
    expect((await manager.restore('order-42', 'order', Order)).id).toBe('order-42');
    await child.dispose();
  });

  it('shares a parent registration with grandchildren, which do not close it when disposed', async () => {
    const parent = container.createChildContainer();
    const manager = await registerCheckpointing(parent, { storage: 'memory:' });
    const grandchild = parent.createChildContainer();
    expect(grandchild.resolve(CheckpointManager)).toBe(manager);
    await grandchild.dispose();
    await manager.save('still-open', { n: 1 });
    await parent.dispose();
    await expectCheckpointError(() => manager.list(), 'Released');
  });

  it('keeps the registrations of two child containers apart', async () => {
    const a = container.createChildContainer();
    const b = container.createChildContainer();
    await registerCheckpointing(a, { storage: 'memory:' });
    await registerCheckpointing(b, { storage: 'memory:' });
    await a.resolve(CheckpointManager).save('only-in-a', { n: 1 });
    expect(await b.resolve(CheckpointManager).list()).toEqual([]);
    await a.dispose();
    await b.dispose();
  });

  it('builds the configured wrapper chain over a file storage, and disposes it with the container', async () => {
    const dir = tempDir();
    const child = container.createChildContainer();
    const manager = await registerCheckpointing(child, {
      storage: `file:${dir}`,
      wrappers: ['checksum', { hmac: { key: KEY } }, 'guard'],
    });
    await manager.save('signed', { order: sampleOrder() });
    // The guard is in the chain: a held checkpoint cannot be removed.
    const held = await child.resolve<Storage>(CHECKPOINT_STORAGE).loadCheckpoint('signed');
    await expectCheckpointError(() => manager.remove('signed'), 'InUse');
    await held.release();
    await child.dispose();

    // Read through a chain without the HMAC layer: a clean error, never wrong data.
    const other = container.createChildContainer();
    const unsigned = await registerCheckpointing(other, {
      storage: `file:${dir}`,
      wrappers: ['checksum', 'guard'],
    });
    const error = await expectCheckpointError(
      () => unsigned.restore('signed', 'order', Order),
      'Deserialize',
      'Cannot restore key "order" of checkpoint "signed": the bytes are not checkpointable codec data (no "CPV" header); they may have been written through a different wrapper chain or by another program.',
    );
    expect(error.identifier).toBe('signed');
    await other.dispose();

    // And through the same chain again: the order is there.
    const again = container.createChildContainer();
    const signed = await registerCheckpointing(again, {
      storage: `file:${dir}`,
      wrappers: ['checksum', { hmac: { key: KEY } }, 'guard'],
    });
    expect((await signed.restore('signed', 'order', Order)).items).toHaveLength(2);
    await again.dispose();
  });

  it('takes a Storage object or a factory, and wraps either', async () => {
    const given = MemoryStorage.create();
    const one = container.createChildContainer();
    expect(child(await registerCheckpointing(one, { storage: given }), one)).toBe(given);
    await one.dispose();

    const dir = tempDir();
    const two = container.createChildContainer();
    let calls = 0;
    await registerCheckpointing(two, {
      storage: async (c) => {
        calls++;
        expect(c).toBe(two);
        return FileStorage.openRaw(dir);
      },
      wrappers: ['checksum'],
    });
    expect(calls).toBe(1);
    await two.resolve(CheckpointManager).save('from-factory', { n: 1 });
    await two.dispose();
    // Checksummed bytes: a bare reader sees no codec header.
    const raw = await FileStorage.openRaw(dir);
    const saved = await raw.loadCheckpoint('from-factory');
    expect(
      Buffer.from(await saved.getBytes('n'))
        .subarray(0, 3)
        .toString('latin1'),
    ).not.toBe('CPV');
    await saved.release();
    await raw.close();
  });

  it('refuses an unknown storage form or a bad wrapper entry, leaving nothing registered', async () => {
    const c = container.createChildContainer();
    await expectCheckpointError(
      () => registerCheckpointing(c, { storage: 'mysql://root:secret@db/app' }),
      'Initialization',
      "The checkpoint storage is configured as a 'mysql:' URL; use one of: 'memory:', 'file:./path', 'postgres://...', 'redis://...', a Storage object or a factory function.",
    );
    await expectCheckpointError(
      () => registerCheckpointing(c, { storage: {} as Storage }),
      'Initialization',
      "The checkpoint storage option is neither a Storage nor a known form; use one of: 'memory:', 'file:./path', 'postgres://...', 'redis://...', a Storage object or a factory function.",
    );
    await expectCheckpointError(
      () => registerCheckpointing(c, { storage: 'memory:', wrappers: ['zip' as 'guard'] }),
      'Initialization',
    );
    expect(c.isRegistered(CHECKPOINT_STORAGE)).toBe(false);
  });
});

function child(manager: CheckpointManager, c: typeof container): Storage {
  expect(c.resolve(CheckpointManager)).toBe(manager);
  return c.resolve<Storage>(CHECKPOINT_STORAGE);
}

describe('parseStorageUrl', () => {
  it('understands every form', () => {
    expect(parseStorageUrl('memory:')).toEqual({ kind: 'memory' });
    expect(parseStorageUrl('file:./var/cp')).toEqual({ kind: 'file', path: resolve('var/cp') });
    expect(parseStorageUrl('file:/srv/cp')).toEqual({ kind: 'file', path: '/srv/cp' });
    expect(parseStorageUrl('file:///srv/my%20cp')).toEqual({ kind: 'file', path: '/srv/my cp' });
    expect(parseStorageUrl('postgres://u:p@db:5432/app')).toEqual({
      kind: 'postgres',
      connectionString: 'postgres://u:p@db:5432/app',
    });
    expect(parseStorageUrl('postgresql://db/app').kind).toBe('postgres');
    expect(parseStorageUrl('redis://cache:6379/2')).toEqual({
      kind: 'redis',
      url: 'redis://cache:6379/2',
    });
    expect(parseStorageUrl('rediss://cache').kind).toBe('redis');
  });

  it('never shows more than the scheme of a bad URL (it may hold a password)', async () => {
    await expectCheckpointError(
      () => parseStorageUrl('memory:extra'),
      'Initialization',
      "The checkpoint storage is configured as a 'memory:' URL; use one of: 'memory:', 'file:./path', 'postgres://...', 'redis://...', a Storage object or a factory function.",
    );
    await expectCheckpointError(
      () => parseStorageUrl('./relative/path'),
      'Initialization',
      "The checkpoint storage is configured as a string without a scheme; use one of: 'memory:', 'file:./path', 'postgres://...', 'redis://...', a Storage object or a factory function.",
    );
  });
});

const id = `di-${randomBytes(6).toString('hex')}`;

describe.runIf(postgresAnswers())('a postgres:// storage, loaded only when used', () => {
  it('saves and restores through PostgresStorage', async () => {
    const c = container.createChildContainer();
    const manager = await registerCheckpointing(c, { storage: DATABASE_URL, wrappers: ['guard'] });
    await manager.save(id, { order: sampleOrder() });
    expect((await manager.restore(id, 'order', Order)).items[0].order).toBeInstanceOf(Order);
    await manager.remove(id);
    await c.dispose();
  });
});

describe.runIf(redisAnswers())('a redis:// storage, loaded only when used', () => {
  it('saves and restores through RedisStorage', async () => {
    const c = container.createChildContainer();
    const manager = await registerCheckpointing(c, { storage: REDIS_URL });
    await manager.save(id, { order: sampleOrder() });
    expect((await manager.list()).find((x) => x.identifier === id)?.classes).toEqual([
      'Customer',
      'LineItem',
      'Order',
    ]);
    await manager.remove(id);
    await c.dispose();
  });
});

describe('the global container', () => {
  it('works with registerCheckpointing(container) and container.dispose()', async () => {
    const manager = await registerCheckpointing(container, { storage: 'memory:' });
    expect(container.resolve(OrderBook).manager).toBe(manager);
    await container.dispose();
    await expectCheckpointError(() => manager.save('after', { n: 1 }), 'Released');
  });
});
