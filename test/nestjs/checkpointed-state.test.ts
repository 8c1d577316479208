import 'reflect-metadata';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Controller,
  Injectable,
  Module,
  Scope,
  type BeforeApplicationShutdown,
  type LoggerService,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CheckpointedState,
  CheckpointError,
  CheckpointField,
  CheckpointManager,
  FileStorage,
  MemoryStorage,
  requestSave,
  type CheckpointingErrorEvent,
  type Storage,
} from 'checkpointable';
import {
  CheckpointHealthIndicator,
  CheckpointModule,
  getCheckpointManagerToken,
  type CheckpointModuleOptions,
} from 'checkpointable/nestjs';
import { expectCheckpointError } from '../fixtures/manager/expect-error';
import { InstrumentedWrapper } from '../fixtures/series/instrumented-wrapper';
import { countCloses, eventually } from './nest-fixtures';

/** A provider with automatic state, saved only at shutdown (no debounce, no interval). */
@Injectable()
@CheckpointedState({ series: 'nest.counter' })
class CounterService implements OnModuleInit {
  @CheckpointField() count: number = 0;
  countAtOwnInit: number | undefined;

  onModuleInit(): void {
    this.countAtOwnInit = this.count;
  }
}

/** A provider that asks for a save after each change, debounced. */
@Injectable()
@CheckpointedState({ series: 'nest.orders', debounce: 30 })
class OrdersService {
  @CheckpointField({ type: () => Object }) orders: string[] = [];

  place(id: string): void {
    this.orders.push(id);
    requestSave(this);
  }
}

/** A provider whose every request saves at once. */
@Injectable()
@CheckpointedState({ series: 'nest.audit' })
class AuditService {
  @CheckpointField({ type: () => Object }) entries: string[] = [];

  record(entry: string): void {
    this.entries.push(entry);
    requestSave(this);
  }
}

/** Logs what Nest's Logger receives, by level. */
class RecordingLogger implements LoggerService {
  readonly lines: { level: string; message: string; context?: string }[] = [];
  log(message: string, context?: string) {
    this.lines.push({ level: 'log', message, context });
  }
  error(message: string, _stack?: string, context?: string) {
    this.lines.push({ level: 'error', message, context });
  }
  warn(message: string, context?: string) {
    this.lines.push({ level: 'warn', message, context });
  }
  debug() {}
  verbose() {}
  fatal() {}
}

async function start(
  options: CheckpointModuleOptions,
  providers: unknown[],
  logger: LoggerService | false = false,
  extra: { imports?: unknown[]; controllers?: unknown[] } = {},
) {
  const moduleRef = await Test.createTestingModule({
    imports: [CheckpointModule.forRoot(options), ...((extra.imports ?? []) as [])],
    providers: providers as [],
    controllers: (extra.controllers ?? []) as [],
  }).compile();
  const app = moduleRef.createNestApplication({ logger });
  await app.init();
  return app;
}

async function seriesIdentifiers(storage: Storage, series: string): Promise<string[]> {
  return (await storage.checkpointIdentifiers()).filter((id) =>
    id.startsWith(`@series:${series}:`),
  );
}

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeEach(() => {
  unhandled.length = 0;
  process.on('unhandledRejection', onUnhandled);
});
afterEach(() => {
  process.removeListener('unhandledRejection', onUnhandled);
  expect(unhandled).toEqual([]);
});

describe('@CheckpointedState providers in a Nest application', () => {
  it('are restored during init, before their own onModuleInit, and saved at app.close()', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cp-nest-state-'));
    const first = await start({ storage: `file:${dir}` }, [CounterService]);
    expect(first.get(CounterService).count).toBe(0);
    first.get(CounterService).count = 41;
    await first.close();

    const second = await start({ storage: `file:${dir}` }, [CounterService]);
    expect(second.get(CounterService).count).toBe(41);
    expect(second.get(CounterService).countAtOwnInit).toBe(41);
    second.get(CounterService).count = 42;
    await second.close();

    const storage = await FileStorage.open(dir);
    expect(await seriesIdentifiers(storage, 'nest.counter')).toEqual([
      '@series:nest.counter:000000000001',
      '@series:nest.counter:000000000002',
    ]);
    await storage.close();
  });

  it('saves at app.close() before the storage closes, and closes it exactly once', async () => {
    const log: string[] = [];
    const counted = countCloses(MemoryStorage.create());
    const { storage } = counted;
    const commit = storage.commitCheckpoint.bind(storage);
    storage.commitCheckpoint = (checkpoint) => {
      log.push('commit');
      return commit(checkpoint);
    };
    const close = storage.close.bind(storage);
    storage.close = () => {
      log.push('close');
      return close();
    };
    @Injectable()
    class ShutdownWatcher implements BeforeApplicationShutdown, OnApplicationShutdown {
      beforeApplicationShutdown() {
        log.push('provider beforeApplicationShutdown');
      }
      onApplicationShutdown() {
        log.push('provider onApplicationShutdown');
      }
    }
    const app = await start({ storage }, [CounterService, ShutdownWatcher]);
    app.get(CounterService).count = 7;
    await app.close();
    // Nest runs the shutdown hooks of importing modules first: the providers' own
    // beforeApplicationShutdown, then the final save, and the storage closes last.
    expect(log).toEqual([
      'provider beforeApplicationShutdown',
      'commit',
      'provider onApplicationShutdown',
      'close',
    ]);
    expect(counted.closes()).toBe(1);
    await app.close();
    expect(counted.closes()).toBe(1);
  });

  it('lets requestSave(this) work on the instance Nest created, debounced into one save', async () => {
    const storage = new InstrumentedWrapper(MemoryStorage.create());
    const app = await start({ storage }, [OrdersService]);
    const orders = app.get(OrdersService);
    orders.place('o-1');
    orders.place('o-2');
    orders.place('o-3');
    await eventually(() => storage.commits > 0);
    const manager = app.get(CheckpointManager);
    expect(await manager.series('nest.orders').restoreLatest('state', Object)).toMatchObject({
      orders: ['o-1', 'o-2', 'o-3'],
    });
    await app.close();
    // Three requests made one save; the final save found the state unchanged.
    expect(storage.commits).toBe(1);
    // After shutdown a change would be lost: requestSave says so.
    await expectCheckpointError(() => orders.place('o-4'), 'Released');
  });

  it('saves by its interval while running, and stops the timer at shutdown', async () => {
    @Injectable()
    @CheckpointedState({ series: 'nest.ticks', every: 10 })
    class Ticks {
      @CheckpointField() ticks: number = 0;
    }
    const logger = new RecordingLogger();
    const storage = new InstrumentedWrapper(MemoryStorage.create());
    const app = await start({ storage }, [Ticks], logger);
    app.get(Ticks).ticks = 1;
    await eventually(() => storage.commits === 1);
    await app.close();
    // A tick after close would fail on the closed storage and be logged as an error.
    app.get(Ticks).ticks = 2;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(storage.commits).toBe(1);
    expect(logger.lines.filter((l) => l.level !== 'log')).toEqual([]);
  });

  it('reports a failed autosave through Nest’s Logger and the health indicator, then retries', async () => {
    const logger = new RecordingLogger();
    const storage = new InstrumentedWrapper(MemoryStorage.create());
    const app = await start({ storage }, [AuditService], logger);
    const health = app.get(CheckpointHealthIndicator);
    expect((await health.isHealthy()).checkpoints.lastSave).toBeUndefined();

    storage.failNext(1);
    app.get(AuditService).record('first');
    await eventually(() => logger.lines.some((l) => l.level === 'error'));
    expect(logger.lines.filter((l) => l.level === 'error')).toEqual([
      {
        level: 'error',
        context: 'CheckpointModule',
        message:
          'Saving the state of AuditService (series "nest.audit") failed (retrying in 1000 ms): Cannot commit checkpoint "@series:nest.audit:000000000001": the disk is unavailable (injected).',
      },
    ]);
    const down = (await health.isHealthy()).checkpoints;
    expect(down.status).toBe('down');
    expect(down.message).toBe(
      'The latest automatic save failed: Cannot commit checkpoint "@series:nest.audit:000000000001": the disk is unavailable (injected).',
    );
    expect(down.lastSave?.ok).toBe(false);
    expect(down.lastSave?.ageMs).toBeGreaterThanOrEqual(0);

    // The next request saves (the failure is not sticky), and health is up again.
    app.get(AuditService).record('second');
    await eventually(() => storage.commits === 1);
    const up = (await health.isHealthy()).checkpoints;
    expect(up.status).toBe('up');
    expect(up.lastSave?.ok).toBe(true);
    expect(Date.parse(up.lastSave!.at)).toBeGreaterThanOrEqual(Date.parse(down.lastSave!.at));
    await app.close();
    expect(storage.commits).toBe(1);
  });

  it('keeps health down while any provider’s latest save failed, whatever the others did since', async () => {
    const storage = new InstrumentedWrapper(MemoryStorage.create());
    const app = await start({ storage, onError: () => undefined }, [AuditService, OrdersService]);
    const health = app.get(CheckpointHealthIndicator);
    storage.failNext(1);
    app.get(AuditService).record('lost for now');
    await eventually(() => storage.creates === 1);
    app.get(OrdersService).place('o-1');
    await eventually(() => storage.commits === 1);
    const down = (await health.isHealthy()).checkpoints;
    expect(down.status).toBe('down');
    expect(down.message).toBe(
      'The latest automatic save failed: Cannot commit checkpoint "@series:nest.audit:000000000001": the disk is unavailable (injected).',
    );

    app.get(AuditService).record('saved');
    await eventually(() => storage.commits === 2);
    const up = (await health.isHealthy()).checkpoints;
    expect(up.status).toBe('up');
    expect(up.lastSave?.ok).toBe(true);
    await app.close();
  });

  it('sends failed saves to onError instead of the logger when the module has one', async () => {
    const logger = new RecordingLogger();
    const storage = new InstrumentedWrapper(MemoryStorage.create());
    const failures: { error: CheckpointError; event: CheckpointingErrorEvent }[] = [];
    const moduleRef = await Test.createTestingModule({
      imports: [
        CheckpointModule.forRootAsync({
          useFactory: () => ({ storage }),
          onError: (error, event) => failures.push({ error, event }),
        }),
      ],
      providers: [AuditService],
    }).compile();
    const app = moduleRef.createNestApplication({ logger });
    await app.init();
    storage.failNext(1);
    app.get(AuditService).record('first');
    await eventually(() => failures.length > 0);
    expect(failures[0].error.kind).toBe('Io');
    expect(failures[0].event).toMatchObject({
      series: 'nest.audit',
      trigger: 'request',
      retryIn: 1000,
      stopped: false,
      committed: false,
    });
    expect(failures[0].event.service).toBe(app.get(AuditService));
    await app.close();
    expect(logger.lines.filter((l) => l.level === 'error')).toEqual([]);
    // The final save at close caught the change up.
    expect(storage.commits).toBe(1);
  });

  it('closes the storage when the final save fails, then rejects app.close() with the failure', async () => {
    const logger = new RecordingLogger();
    const counted = countCloses(new InstrumentedWrapper(MemoryStorage.create()));
    const storage = counted.storage as InstrumentedWrapper;
    const app = await start({ storage }, [CounterService], logger);
    app.get(CounterService).count = 3;
    storage.failNext(1);
    await expect(app.close()).rejects.toThrow(
      'Cannot commit checkpoint "@series:nest.counter:000000000001": the disk is unavailable (injected).',
    );
    expect(counted.closes()).toBe(1);
    expect(logger.lines.filter((l) => l.level === 'error').map((l) => l.message)).toEqual([
      'Saving the state of CounterService (series "nest.counter") failed (no retry follows): Cannot commit checkpoint "@series:nest.counter:000000000001": the disk is unavailable (injected).',
    ]);
  });
});

describe('which storage keeps which @CheckpointedState provider', () => {
  it('gives a named storage the classes in its services, and the default storage the rest', async () => {
    const main = mkdtempSync(join(tmpdir(), 'cp-nest-main-'));
    const audit = mkdtempSync(join(tmpdir(), 'cp-nest-audit-'));
    const moduleRef = await Test.createTestingModule({
      imports: [
        CheckpointModule.forRoot({ storage: `file:${main}` }),
        CheckpointModule.forRoot({
          name: 'audit',
          storage: `file:${audit}`,
          services: [AuditService],
        }),
      ],
      providers: [CounterService, AuditService],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    app.get(CounterService).count = 5;
    app.get(AuditService).record('kept apart');
    const auditManager = app.get<CheckpointManager>(getCheckpointManagerToken('audit'));
    await app.close();

    const mainStorage = await FileStorage.open(main);
    const auditStorage = await FileStorage.open(audit);
    expect(await mainStorage.checkpointIdentifiers()).toEqual([
      '@series:nest.counter:000000000001',
    ]);
    expect(await auditStorage.checkpointIdentifiers()).toEqual(['@series:nest.audit:000000000001']);
    await mainStorage.close();
    await auditStorage.close();
    expect(auditManager).not.toBe(app.get(CheckpointManager));
    // The audit entry was saved by its request (no debounce), and not again at close.
    expect(app.get(AuditService).entries).toEqual(['kept apart']);
  });

  it('fails the start when a state cannot be restored, closing every checkpoint storage', async () => {
    const main = countCloses(MemoryStorage.create());
    const audit = countCloses(MemoryStorage.create());
    // Something else than AuditService's state under its series: a bare number.
    const writer = new CheckpointManager(audit.storage);
    await writer.series('nest.audit').save({ state: 5 });
    const moduleRef = await Test.createTestingModule({
      imports: [
        CheckpointModule.forRoot({ storage: main.storage }),
        CheckpointModule.forRoot({
          name: 'audit',
          storage: audit.storage,
          services: [AuditService],
        }),
      ],
      providers: [CounterService, AuditService],
    }).compile();
    const failure = await moduleRef
      .createNestApplication({ logger: false })
      .init()
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(failure).toBeInstanceOf(CheckpointError);
    expect((failure as CheckpointError).kind).toBe('Deserialize');
    expect((failure as CheckpointError).message).toContain(
      'Cannot restore key "state" of checkpoint "@series:nest.audit:000000000001"',
    );
    expect(main.closes()).toBe(1);
    expect(audit.closes()).toBe(1);
  });

  it('refuses a provider no storage keeps, a listed class nobody provides, and a non-singleton', async () => {
    const counted = countCloses(MemoryStorage.create());
    await expectCheckpointError(
      () => start({ name: 'audit', storage: counted.storage }, [CounterService]),
      'Initialization',
      "CounterService has @CheckpointedState, but no CheckpointModule keeps its state; import CheckpointModule.forRoot({ storage }) without a name and without services, or list CounterService in the services of one: CheckpointModule.forRoot({ name: 'audit', storage, services: [CounterService] }).",
    );
    // Nest runs no shutdown hook for an application that did not start.
    expect(counted.closes()).toBe(1);

    await expectCheckpointError(
      () => start({ storage: 'memory:', services: [AuditService] }, []),
      'Initialization',
      'CheckpointModule "default" lists AuditService in its services, but no provider of the application is one with @CheckpointedState; add @CheckpointedState({ series }) to the class and the class to a module\'s providers, or leave it out of services.',
    );

    const moduleRef = await Test.createTestingModule({
      imports: [
        CheckpointModule.forRoot({ name: 'one', storage: 'memory:', services: [AuditService] }),
        CheckpointModule.forRoot({ name: 'two', storage: 'memory:', services: [AuditService] }),
      ],
      providers: [AuditService],
    }).compile();
    await expectCheckpointError(
      () => moduleRef.createNestApplication({ logger: false }).init(),
      'Initialization',
      'AuditService has @CheckpointedState and is listed in the services of CheckpointModule "one" (as AuditService) and CheckpointModule "two" (as AuditService); list it in one storage only.',
    );

    @Injectable()
    @CheckpointedState({ series: 'nest.counter' })
    class SameSeries {
      @CheckpointField() count: number = 0;
    }
    await expectCheckpointError(
      () => start({ storage: 'memory:' }, [CounterService, SameSeries]),
      'Initialization',
      'CheckpointModule "default": CounterService and SameSeries both save into series "nest.counter"; give each service its own series.',
    );

    @Injectable({ scope: Scope.REQUEST })
    @CheckpointedState({ series: 'nest.per-request' })
    class PerRequest {
      @CheckpointField() n: number = 0;
    }
    await expectCheckpointError(
      () => start({ storage: 'memory:' }, [PerRequest]),
      'Initialization',
      'PerRequest has @CheckpointedState but is request-scoped (or depends on a request-scoped provider), so Nest makes more than one instance and the state restored would not be the one in use; make it a singleton (the default scope).',
    );

    await expectCheckpointError(
      () => start({ storage: 'memory:', services: 'AuditService' as never }, []),
      'Initialization',
      'CheckpointModule.forRoot(): services is not a list of classes; give the @CheckpointedState provider classes whose state this storage keeps, as in services: [AuditLogService].',
    );
  });

  it('also keeps the state of a controller with @CheckpointedState', async () => {
    @Controller('visits')
    @CheckpointedState({ series: 'nest.visits' })
    class VisitsController {
      @CheckpointField() visits: number = 0;
    }
    @Module({ controllers: [VisitsController] })
    class VisitsModule {}
    const dir = mkdtempSync(join(tmpdir(), 'cp-nest-ctl-'));
    const first = await start({ storage: `file:${dir}` }, [], false, { imports: [VisitsModule] });
    first.get(VisitsController).visits = 9;
    await first.close();
    const second = await start({ storage: `file:${dir}` }, [], false, { imports: [VisitsModule] });
    expect(second.get(VisitsController).visits).toBe(9);
    await second.close();
  });
});
