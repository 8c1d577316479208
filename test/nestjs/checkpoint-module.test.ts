import 'reflect-metadata';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Inject, Injectable, Module, type BeforeApplicationShutdown } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { describe, expect, it } from 'vitest';
import {
  CHECKPOINT_STORAGE,
  CheckpointManager,
  FileStorage,
  MemoryStorage,
  type Storage,
} from 'checkpointable';
import {
  CheckpointModule,
  getCheckpointManagerToken,
  getCheckpointStorageToken,
  InjectCheckpointManager,
  InjectCheckpointStorage,
  type CheckpointOptionsFactory,
} from 'checkpointable/nestjs';
import { Order, sampleOrder } from '../fixtures/manager/domain';
import { expectCheckpointError } from '../fixtures/manager/expect-error';
import { ConfigModule, ConfigService, countCloses } from './nest-fixtures';

/** A service as an application writes it: the manager by type, the storage by token. */
@Injectable()
class OrderBookService {
  constructor(
    readonly manager: CheckpointManager,
    @Inject(CHECKPOINT_STORAGE) readonly storage: Storage,
  ) {}
}

/** A service using two storages: the default one by type, the named one by decorator. */
@Injectable()
class AuditService {
  constructor(
    readonly orders: CheckpointManager,
    @InjectCheckpointManager('audit') readonly audit: CheckpointManager,
    @InjectCheckpointStorage('audit') readonly auditStorage: Storage,
  ) {}
}

async function start(metadata: Parameters<typeof Test.createTestingModule>[0]) {
  const moduleRef = await Test.createTestingModule(metadata).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  return app;
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'cp-nest-'));
}

describe('CheckpointModule.forRoot', () => {
  it('opens the storage URL with its wrapper chain; the manager is injectable by type', async () => {
    const dir = tempDir();
    const app = await start({
      imports: [
        CheckpointModule.forRoot({ storage: `file:${dir}`, wrappers: ['checksum', 'guard'] }),
      ],
      providers: [OrderBookService],
    });
    const book = app.get(OrderBookService);
    expect(book.manager).toBe(app.get(CheckpointManager));
    expect(book.storage).toBe(app.get(CHECKPOINT_STORAGE));
    await book.manager.save('order-42', { order: sampleOrder() });
    expect((await book.manager.restore('order-42', 'order', Order)).id).toBe('order-42');
    // The guard is in the chain: a held checkpoint cannot be removed.
    const held = await book.storage.loadCheckpoint('order-42');
    await expectCheckpointError(() => book.manager.remove('order-42'), 'InUse');
    await held.release();
    await app.close();
    await expectCheckpointError(() => book.manager.list(), 'Released');

    // Checksummed on disk: read back through the same chain only.
    const again = await start({
      imports: [CheckpointModule.forRoot({ storage: `file:${dir}`, wrappers: ['checksum'] })],
    });
    expect((await again.get(CheckpointManager).restore('order-42', 'order', Order)).id).toBe(
      'order-42',
    );
    await again.close();
  });

  it('closes the storage exactly once, at app.close(), even when closed twice', async () => {
    const { storage, closes } = countCloses(MemoryStorage.create());
    const app = await start({ imports: [CheckpointModule.forRoot({ storage })] });
    await app.get(CheckpointManager).save('a', { n: 1 });
    expect(closes()).toBe(0);
    await app.close();
    expect(closes()).toBe(1);
    await app.close();
    expect(closes()).toBe(1);
  });

  it('keeps the storage open for services saving in beforeApplicationShutdown, and closes it after', async () => {
    const dir = tempDir();
    @Injectable()
    class SavesAtShutdown implements BeforeApplicationShutdown {
      constructor(private readonly manager: CheckpointManager) {}
      async beforeApplicationShutdown(): Promise<void> {
        await this.manager.save('at-shutdown', { n: 7 });
      }
    }
    const file = countCloses(await FileStorage.open(dir));
    const app = await start({
      imports: [CheckpointModule.forRoot({ storage: file.storage })],
      providers: [SavesAtShutdown],
    });
    // Rejects if the save found the storage closed.
    await app.close();
    expect(file.closes()).toBe(1);
    const reopened = new CheckpointManager(await FileStorage.open(dir));
    expect(await reopened.restore('at-shutdown', 'n')).toBe(7);
    await reopened.close();
  });

  it('takes a factory for the storage, called once at startup', async () => {
    let calls = 0;
    const app = await start({
      imports: [
        CheckpointModule.forRoot({
          storage: async () => {
            calls++;
            return MemoryStorage.create();
          },
        }),
      ],
    });
    expect(calls).toBe(1);
    await app.get(CheckpointManager).save('from-factory', { n: 1 });
    await app.close();
  });

  it('makes the manager injectable in every module with isGlobal, and only in importers without', async () => {
    @Injectable()
    class Reporter {
      constructor(readonly manager: CheckpointManager) {}
    }
    @Module({ providers: [Reporter], exports: [Reporter] })
    class ReportsModule {}

    const app = await start({
      imports: [CheckpointModule.forRoot({ storage: 'memory:', isGlobal: true }), ReportsModule],
    });
    expect(app.get(Reporter).manager).toBe(app.get(CheckpointManager));
    await app.close();

    await expect(
      start({ imports: [CheckpointModule.forRoot({ storage: 'memory:' }), ReportsModule] }),
    ).rejects.toThrow(/Nest can't resolve dependencies of the Reporter \(\?\)/);
  });
});

describe('named storages', () => {
  it('provides each under its name, keeps them apart, and closes each once', async () => {
    const main = countCloses(MemoryStorage.create());
    const audit = countCloses(MemoryStorage.create());
    const app = await start({
      imports: [
        CheckpointModule.forRoot({ storage: main.storage }),
        CheckpointModule.forRoot({ name: 'audit', storage: audit.storage }),
      ],
      providers: [AuditService],
    });
    const service = app.get(AuditService);
    expect(service.orders).not.toBe(service.audit);
    expect(service.audit).toBe(app.get(getCheckpointManagerToken('audit')));
    expect(service.auditStorage).toBe(app.get(getCheckpointStorageToken('audit')));
    expect(app.get(getCheckpointManagerToken())).toBe(app.get(CheckpointManager));
    await service.audit.save('audited', { n: 1 });
    expect((await service.audit.list()).map((c) => c.identifier)).toEqual(['audited']);
    expect(await service.orders.list()).toEqual([]);
    expect(await audit.storage.checkpointIdentifiers()).toEqual(['audited']);
    await app.close();
    expect([main.closes(), audit.closes()]).toEqual([1, 1]);
  });

  it('refuses two storages under one name at startup, closing both', async () => {
    const one = countCloses(MemoryStorage.create());
    const two = countCloses(MemoryStorage.create());
    await expectCheckpointError(
      () =>
        start({
          imports: [
            CheckpointModule.forRoot({ storage: one.storage }),
            CheckpointModule.forRoot({ storage: two.storage, wrappers: ['checksum'] }),
          ],
        }),
      'Initialization',
      "CheckpointModule is imported twice without a name, with different options; import it once, or give the other storages a name: CheckpointModule.forRoot({ name: 'audit', ... }).",
    );
    expect([one.closes(), two.closes()]).toEqual([1, 1]);
    await expectCheckpointError(
      () =>
        start({
          imports: [
            CheckpointModule.forRoot({ name: 'audit', storage: 'memory:' }),
            CheckpointModule.forRoot({ name: 'audit', storage: 'memory:', wrappers: [] }),
          ],
        }),
      'Initialization',
      'CheckpointModule is imported twice with the name "audit", with different options; give each storage its own name.',
    );
  });

  it('shares one module between importers of the same forRoot', async () => {
    const shared = countCloses(MemoryStorage.create());
    const checkpoints = CheckpointModule.forRoot({ storage: shared.storage });
    @Injectable()
    class Reader {
      constructor(readonly manager: CheckpointManager) {}
    }
    @Module({ imports: [checkpoints], providers: [Reader], exports: [Reader] })
    class FeatureModule {}
    const app = await start({ imports: [checkpoints, FeatureModule] });
    expect(app.get(Reader).manager).toBe(app.get(CheckpointManager));
    await app.close();
    expect(shared.closes()).toBe(1);
  });

  it('refuses an unusable name at once', async () => {
    await expectCheckpointError(
      () => CheckpointModule.forRoot({ name: 'audit log', storage: 'memory:' }),
      'Initialization',
      `CheckpointModule name "audit log" is not usable; use 1 to 64 letters, digits, '_', '.' or '-', such as 'audit'.`,
    );
    await expectCheckpointError(() => InjectCheckpointManager(''), 'Initialization');
  });
});

describe('CheckpointModule.forRootAsync', () => {
  it('takes the options from a ConfigService-style factory', async () => {
    const dir = tempDir();
    const app = await start({
      imports: [
        CheckpointModule.forRootAsync({
          imports: [ConfigModule.with({ CHECKPOINT_STORAGE: `file:${dir}?durability=atomic` })],
          inject: [ConfigService],
          useFactory: (config: ConfigService) => ({
            storage: config.get('CHECKPOINT_STORAGE')!,
            wrappers: ['checksum'],
          }),
        }),
      ],
      providers: [OrderBookService],
    });
    const book = app.get(OrderBookService);
    await book.manager.save('configured', { order: sampleOrder() });
    await app.close();
    const reopened = await FileStorage.openRaw(dir);
    expect(await reopened.checkpointIdentifiers()).toEqual(['configured']);
    await reopened.close();
  });

  it('takes useClass and useExisting, with a name and isGlobal', async () => {
    @Injectable()
    class CheckpointConfig implements CheckpointOptionsFactory {
      constructor(private readonly config: ConfigService) {}
      createCheckpointOptions() {
        return { storage: this.config.get('AUDIT_STORAGE')! };
      }
    }
    const settings = ConfigModule.with({ AUDIT_STORAGE: 'memory:' });
    const app = await start({
      imports: [
        CheckpointModule.forRootAsync({
          name: 'audit',
          isGlobal: true,
          imports: [settings],
          useClass: CheckpointConfig,
        }),
      ],
      providers: [
        {
          provide: 'probe',
          useFactory: (m: CheckpointManager) => m,
          inject: [getCheckpointManagerToken('audit')],
        },
      ],
    });
    const audit = app.get<CheckpointManager>('probe');
    await audit.save('x', { n: 1 });
    expect((await audit.list()).length).toBe(1);
    await app.close();

    @Module({ imports: [settings], providers: [CheckpointConfig], exports: [CheckpointConfig] })
    class CheckpointConfigModule {}
    const existing = await start({
      imports: [
        CheckpointModule.forRootAsync({
          imports: [CheckpointConfigModule],
          useExisting: CheckpointConfig,
        }),
      ],
    });
    expect(await existing.get(CheckpointManager).list()).toEqual([]);
    await existing.close();
  });

  it('refuses options that cannot work, with a message that says what to do', async () => {
    await expectCheckpointError(
      () => CheckpointModule.forRootAsync({ inject: [ConfigService] }),
      'Initialization',
      'CheckpointModule.forRootAsync() takes exactly one of useFactory, useClass and useExisting; it got none.',
    );
    const unset = () =>
      start({
        imports: [
          CheckpointModule.forRootAsync({
            imports: [ConfigModule.with({})],
            inject: [ConfigService],
            useFactory: (config: ConfigService) => ({ storage: config.get('CHECKPOINT_STORAGE')! }),
          }),
        ],
      });
    await expectCheckpointError(
      unset,
      'Initialization',
      "CheckpointModule.forRootAsync() needs the storage option, such as { storage: 'file:./var/checkpoints' } or a 'postgres://' or 'redis://' URL; it is missing (is the environment variable that configures it set?).",
    );
    await expectCheckpointError(
      () =>
        start({
          imports: [
            CheckpointModule.forRootAsync({
              name: 'audit',
              useFactory: () => ({ storage: 'memory:', name: 'other' }),
            }),
          ],
        }),
      'Initialization',
      `CheckpointModule.forRootAsync() (name "audit"): the factory returned 'name', which it cannot set; set it in forRootAsync({ name, ... }) itself.`,
    );
  });
});

describe('errors at startup', () => {
  it('reports an unknown storage URL without showing it, and a misspelt option', async () => {
    const error = await expectCheckpointError(
      () =>
        start({
          imports: [CheckpointModule.forRoot({ storage: 'mysql://root:s3cret@db/app' })],
        }),
      'Initialization',
      "The checkpoint storage is configured as a 'mysql:' URL; use one of: 'memory:', 'file:./path', 'postgres://...', 'redis://...', a Storage object or a factory function.",
    );
    expect(error.message).not.toContain('s3cret');
    await expectCheckpointError(
      () =>
        start({
          imports: [
            CheckpointModule.forRoot({
              storage: 'memory:',
              wrapper: ['checksum'],
            } as unknown as Parameters<typeof CheckpointModule.forRoot>[0]),
          ],
        }),
      'Initialization',
      `CheckpointModule.forRoot() does not know the option "wrapper"; it takes 'storage', 'wrappers', 'name', 'isGlobal', 'services', 'onError'.`,
    );
    await expectCheckpointError(
      () =>
        start({
          imports: [CheckpointModule.forRoot({ storage: 'memory:', wrappers: ['zip' as 'guard'] })],
        }),
      'Initialization',
    );
  });

  it('says which package to install when NestJS is missing or older than 11', async () => {
    const root = resolve(__dirname, '../..');
    const load = async (mode: 'missing' | 'old') =>
      JSON.parse(
        (
          await promisify(execFile)(
            process.execPath,
            ['-r', '@swc-node/register', 'test/fixtures/nestjs/load-without-nest.ts', mode],
            { cwd: root, encoding: 'utf8' },
          )
        ).stdout,
      ) as unknown;
    expect(await load('missing')).toEqual({
      kind: 'Initialization',
      message:
        'checkpointable/nestjs needs the "@nestjs/common" package (NestJS 11), which is not installed; add it to your application with `npm install @nestjs/common@^11 @nestjs/core@^11`.',
    });
    expect(await load('old')).toEqual({
      kind: 'Initialization',
      message:
        'checkpointable/nestjs needs NestJS 11, but "@nestjs/core" is version 10.4.15; upgrade with `npm install @nestjs/common@^11 @nestjs/core@^11`.',
    });
  });
});
