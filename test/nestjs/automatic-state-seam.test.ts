import 'reflect-metadata';
import { Global, Injectable, Module, type OnModuleInit } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { describe, expect, it } from 'vitest';
import { CheckpointManager, MemoryStorage, type Storage } from 'checkpointable';
import {
  CheckpointHealthIndicator,
  CheckpointModule,
  type CheckpointHealth,
} from 'checkpointable/nestjs';
import {
  AUTOMATIC_STATE_DRIVER,
  type AutomaticStateDriver,
  type AutomaticStateHandle,
} from '../../src/nestjs/automatic-state';
import { expectCheckpointError } from '../fixtures/manager/expect-error';
import { countCloses } from './nest-fixtures';

/** A service whose state the driver below keeps: its `count`, under checkpoint `counter-<n>`. */
@Injectable()
class Counter implements OnModuleInit {
  count = 0;
  countAtOwnInit: number | undefined;
  onModuleInit(): void {
    this.countAtOwnInit = this.count;
  }
}

@Injectable()
class NotCheckpointed {
  count = 0;
}

/**
 * A small driver standing in for the automatic-state runtime, written against the seam:
 * it carries `Counter`s, restores the newest `counter-*` checkpoint and saves a new one on
 * saveNow, logging each step.
 */
function counterDriver(log: string[], failSave = false): AutomaticStateDriver {
  return {
    carries: (type) => type === Counter,
    async start(services, manager: CheckpointManager, storage: Storage) {
      log.push(`start ${services.length}`);
      const latest = (await storage.checkpointIdentifiers()).at(-1);
      for (const service of services as Counter[]) {
        if (latest !== undefined) service.count = await manager.restore<number>(latest, 'count');
      }
      let saved = (await storage.checkpointIdentifiers()).length;
      let last: { at: Date; error?: unknown } | undefined;
      const handle: AutomaticStateHandle = {
        async saveNow() {
          log.push('saveNow');
          try {
            if (failSave) throw new Error('disk full');
            for (const service of services as Counter[]) {
              await manager.save(`counter-${String(++saved).padStart(4, '0')}`, {
                count: service.count,
              });
            }
            last = { at: new Date() };
          } catch (error) {
            last = { at: new Date(), error };
            throw error;
          }
        },
        stop() {
          log.push('stop');
          return Promise.resolve();
        },
        lastSave: () => last,
      };
      return handle;
    },
  };
}

function driverModule(driver: AutomaticStateDriver) {
  @Global()
  @Module({
    providers: [{ provide: AUTOMATIC_STATE_DRIVER, useValue: driver }],
    exports: [AUTOMATIC_STATE_DRIVER],
  })
  class DriverModule {}
  return DriverModule;
}

async function start(
  storage: Storage,
  driver: AutomaticStateDriver | undefined,
  extra: unknown[] = [],
) {
  const moduleRef = await Test.createTestingModule({
    imports: [
      ...(driver === undefined ? [] : [driverModule(driver)]),
      CheckpointModule.forRoot({ storage }),
      ...(extra as []),
    ],
    providers: [Counter, NotCheckpointed],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  return app;
}

describe('the automatic-state seam of CheckpointModule', () => {
  it('restores the providers the driver carries during init, saves before shutdown, closes after', async () => {
    const log: string[] = [];
    const memory = MemoryStorage.create();
    const counted = countCloses(memory);
    const first = await start(counted.storage, counterDriver(log));
    first.get(Counter).count = 41;
    // The storage stays usable between the runs: only the close is counted.
    const close = counted.storage.close;
    counted.storage.close = async () => {
      log.push('close');
      await close();
    };
    await first.close();
    expect(log).toEqual(['start 1', 'saveNow', 'stop', 'close']);
    expect(counted.closes()).toBe(1);
  });

  it('hands the state back to a restarted application before it serves', async () => {
    const log: string[] = [];
    const shared = MemoryStorage.create();
    // One storage across the two applications, as one folder or table across two runs:
    // their closes are held back until the end.
    const close = shared.close.bind(shared);
    shared.close = () => Promise.resolve();
    const first = await start(shared, counterDriver(log));
    first.get(Counter).count = 41;
    first.get(NotCheckpointed).count = 5;
    await first.close();

    const second = await start(shared, counterDriver(log));
    expect(second.get(Counter).count).toBe(41);
    expect(second.get(NotCheckpointed).count).toBe(0);
    expect(second.get(Counter).countAtOwnInit).toBe(41);
    await second.close();
    expect(log).toEqual(['start 1', 'saveNow', 'stop', 'start 1', 'saveNow', 'stop']);
    expect(await shared.checkpointIdentifiers()).toEqual(['counter-0001', 'counter-0002']);
    await close();
  });

  it('closes the storage even when the last save fails, then reports the failure', async () => {
    const log: string[] = [];
    const counted = countCloses(MemoryStorage.create());
    const app = await start(counted.storage, counterDriver(log, true));
    await expect(app.close()).rejects.toThrow(
      'CheckpointModule "default" failed while shutting down: Error: disk full.',
    );
    expect(log).toEqual(['start 1', 'saveNow', 'stop']);
    expect(counted.closes()).toBe(1);
  });
});

it('closes the storage when restoring fails, since Nest runs no shutdown hook then', async () => {
  const counted = countCloses(MemoryStorage.create());
  const failing: AutomaticStateDriver = {
    carries: (type) => type === Counter,
    start: () => Promise.reject(new Error('cannot restore')),
  };
  await expect(start(counted.storage, failing)).rejects.toThrow('cannot restore');
  expect(counted.closes()).toBe(1);
});

describe('CheckpointHealthIndicator', () => {
  it('is up when the storage lists its checkpoints, with the latest save', async () => {
    const log: string[] = [];
    const app = await start(MemoryStorage.create(), counterDriver(log));
    const indicator = app.get(CheckpointHealthIndicator);
    expect(await indicator.isHealthy()).toEqual({
      checkpoints: { status: 'up', storage: 'default', checkpoints: 0 },
    });
    await app.get(CheckpointManager).save('one', { n: 1 });
    expect((await indicator.isHealthy('store')).store.checkpoints).toBe(1);
    await expectCheckpointError(
      () => indicator.isHealthy('store', { name: 'Bad name' }),
      'Initialization',
    );
    await expectCheckpointError(
      () => indicator.isHealthy('store', { name: 'audit' }),
      'Initialization',
      'CheckpointHealthIndicator was asked about the storage "audit", which no CheckpointModule registers; import CheckpointModule.forRoot({ name: "audit", ... }) or check the name.',
    );
    await app.close();
  });

  it('is down when the storage does not answer in time, or the latest save failed', async () => {
    const hanging = MemoryStorage.create();
    hanging.checkpointIdentifiers = () => new Promise<string[]>(() => undefined);
    const slow = await start(hanging, undefined);
    const health = (await slow.get(CheckpointHealthIndicator).isHealthy('cp', { timeoutMs: 20 }))
      .cp;
    expect(health).toEqual({
      status: 'down',
      storage: 'default',
      message: 'The checkpoint storage did not list its checkpoints: no answer within 20 ms',
    } satisfies CheckpointHealth);
    await slow.close().catch(() => undefined);

    const failing = await start(MemoryStorage.create(), counterDriver([], true));
    await failing
      .get(CheckpointModule, { strict: false })
      .beforeApplicationShutdown()
      .catch(() => undefined);
    const down = (await failing.get(CheckpointHealthIndicator).isHealthy()).checkpoints;
    expect(down.status).toBe('down');
    expect(down.message).toBe('The latest automatic save failed: disk full');
    expect(down.lastSave?.ok).toBe(false);
    await failing.close().catch(() => undefined);
  });

  it('plugs into @nestjs/terminus HealthCheckService', async () => {
    const app = await start(MemoryStorage.create(), counterDriver([]), [TerminusModule]);
    const health = app.get(HealthCheckService);
    const indicator = app.get(CheckpointHealthIndicator);
    const result = await health.check([() => indicator.isHealthy('checkpoints')]);
    expect(result.status).toBe('ok');
    expect(result.info).toEqual({
      checkpoints: { status: 'up', storage: 'default', checkpoints: 0 },
    });
    await app.close();
  });
});
