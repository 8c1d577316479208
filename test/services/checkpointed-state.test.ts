import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { container, injectable } from 'tsyringe';
import {
  CheckpointedState,
  CheckpointError,
  CheckpointField,
  CheckpointManager,
  MemoryStorage,
  registerCheckpointing,
  requestSave,
  startCheckpointing,
  type CheckpointingErrorEvent,
} from 'checkpointable';
import { expectCheckpointError } from '../fixtures/manager/expect-error';
import { next, setUp, until } from './fixtures';

@injectable()
@CheckpointedState({ series: 'svc.orders' })
class Orders {
  @CheckpointField({ type: () => Object }) placed: string[] = [];
  @CheckpointField() revision: number = 0;
  /** Not a field: left alone by restore. */
  cache = new Map<string, number>();
  place(id: string): void {
    this.placed.push(id);
    this.revision++;
    requestSave(this);
  }
}

@injectable()
@CheckpointedState({ series: 'svc.audit', every: 1_000 })
class Audit {
  @CheckpointField({ type: () => Object }) lines: string[] = [];
  constructor(readonly manager: CheckpointManager) {}
}

@injectable()
@CheckpointedState({ series: 'svc.debounced', debounce: 500 })
class Debounced {
  @CheckpointField() count: number = 0;
  bump(): void {
    this.count++;
    requestSave(this);
  }
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('startCheckpointing', () => {
  it('keeps the initial values on a first start and writes nothing for them', async () => {
    const { di, wrapper } = await setUp();
    const checkpointing = await startCheckpointing(di, { services: [Orders] });
    const orders = di.resolve(Orders);
    expect(checkpointing.services).toEqual([orders]);
    expect(orders.placed).toEqual([]);
    await checkpointing.saveNow();
    await checkpointing.stop();
    expect(wrapper.creates).toBe(0);
    await di.dispose();
  });

  it('saves on requestSave, and a restart restores the fields into the new instance', async () => {
    const storage = new MemoryStorage();
    const first = await setUp(storage);
    const checkpointing = await startCheckpointing(first.di, { services: [Orders] });
    const orders = first.di.resolve(Orders);
    const saved = next(checkpointing, 'saved');
    orders.place('o-1');
    expect(await saved).toMatchObject({
      series: 'svc.orders',
      trigger: 'request',
      info: { identifier: '@series:svc.orders:000000000001', sequence: 1, keys: ['state'] },
    });
    orders.place('o-2');
    await next(checkpointing, 'saved');
    await checkpointing.stop();

    // A second "process": a new container over the same (still open) medium.
    const second = await setUp(storage);
    const again = await startCheckpointing(second.di, { services: [Orders] });
    const restored = second.di.resolve(Orders);
    expect(restored).not.toBe(orders);
    expect(restored.placed).toEqual(['o-1', 'o-2']);
    expect(restored.revision).toBe(2);
    expect(restored.cache).toBeInstanceOf(Map);
    restored.place('o-3');
    expect((await next(again, 'saved')).info.sequence).toBe(3);
    await again.stop();
  });

  it('saves every interval only when the state changed: an idle service costs no I/O', async () => {
    const { di, wrapper } = await setUp();
    const checkpointing = await startCheckpointing(di, { services: [Audit] });
    const audit = di.resolve(Audit);
    expect(audit.manager).toBe(di.resolve(CheckpointManager));
    await vi.advanceTimersByTimeAsync(10_000);
    expect(wrapper.creates).toBe(0);
    audit.lines.push('changed');
    const saved = next(checkpointing, 'saved');
    await vi.advanceTimersByTimeAsync(1_000);
    expect((await saved).trigger).toBe('interval');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(wrapper.creates).toBe(1);
    await checkpointing.stop();
    expect(wrapper.creates).toBe(1);
  });

  it('debounce: requests within the window make one save, debounce ms after the first', async () => {
    const { di, wrapper } = await setUp();
    const checkpointing = await startCheckpointing(di, { services: [Debounced] });
    const service = di.resolve(Debounced);
    const saves: number[] = [];
    checkpointing.on('saved', ({ info }) => saves.push(info.sequence));
    service.bump();
    await vi.advanceTimersByTimeAsync(300);
    service.bump();
    service.bump();
    expect(wrapper.creates).toBe(0);
    await vi.advanceTimersByTimeAsync(200);
    await until(() => saves.length === 1);
    expect(saves).toEqual([1]);
    expect(
      (await di
        .resolve(CheckpointManager)
        .series('svc.debounced')
        .restoreLatest('state')) as object,
    ).toMatchObject({ count: 3 });
    await vi.advanceTimersByTimeAsync(5_000);
    expect(wrapper.creates).toBe(1);
    await checkpointing.stop();
  });

  it('keeps services sharing one storage apart', async () => {
    const { di, manager } = await setUp();
    const checkpointing = await startCheckpointing(di, { services: [Orders, Debounced] });
    di.resolve(Orders).placed.push('x');
    di.resolve(Debounced).count = 7;
    await checkpointing.saveNow();
    expect(await manager.seriesNames()).toEqual(['svc.debounced', 'svc.orders']);
    expect(await manager.series('svc.orders').restoreLatest('state')).toBeInstanceOf(Orders);
    await checkpointing.stop();
  });

  it('refuses what cannot work, with what to do', async () => {
    const bare = container.createChildContainer();
    await expectCheckpointError(
      () => startCheckpointing(bare, { services: [Orders] }),
      'Initialization',
      "startCheckpointing(): this container has no checkpointing registered; first await registerCheckpointing(container, { storage: 'file:./var/checkpoints' }).",
    );
    const { di } = await setUp();
    class Plain {}
    await expectCheckpointError(
      () => startCheckpointing(di, { services: [Plain] }),
      'Metadata',
      'startCheckpointing(): Plain has no @CheckpointedState({ series: ... }); add it to the class, or leave the class out of services.',
    );
    @CheckpointedState({ series: 'svc.orders' })
    class Twin {}
    await expectCheckpointError(
      () => startCheckpointing(di, { services: [Orders, Twin] }),
      'Initialization',
      'startCheckpointing(): Orders and Twin both save into series "svc.orders"; give each service its own series.',
    );
    @injectable()
    @CheckpointedState({ series: 'svc.transient' })
    class Transient {}
    di.register(Transient, { useClass: Transient });
    await expectCheckpointError(
      () => startCheckpointing(di, { services: [Transient] }),
      'Initialization',
    );
    const running = await startCheckpointing(di, { services: [Orders] });
    await expectCheckpointError(
      () => startCheckpointing(di, { services: [Orders] }),
      'Initialization',
      'startCheckpointing(): this Orders instance is already checkpointed by an earlier startCheckpointing(); stop that one first (checkpointing.stop()).',
    );
    await running.stop();
    expect(() => requestSave(new Orders())).toThrow(
      'requestSave() on Orders: its checkpointing has not started, so this change would not be saved; call await startCheckpointing(container, { services: [Orders] }) before the service takes work, and use the instance the container resolves.',
    );
    expect(() => requestSave(new Plain())).toThrow(CheckpointError);
    expect(() => CheckpointedState({ series: 'a:b' })).toThrow(CheckpointError);
    expect(() => CheckpointedState({ series: 'ok', every: 0 })).toThrow(
      '@CheckpointedState({ series: "ok" }): every is 0; it is a number of milliseconds above 0.',
    );
    await di.dispose();
  });
});

describe('shutdown', () => {
  it('stop() saves once more (onShutdown) and then refuses requests', async () => {
    const { di, manager } = await setUp();
    const checkpointing = await startCheckpointing(di, { services: [Audit] });
    const audit = di.resolve(Audit);
    audit.lines.push('last words');
    await checkpointing.stop();
    expect(await manager.series('svc.audit').restoreLatest('state')).toMatchObject({
      lines: ['last words'],
    });
    await expectCheckpointError(
      () => requestSave(audit),
      'Released',
      'requestSave() on Audit: checkpointing of series "svc.audit" was stopped, so this change will not be saved; change state only before checkpointing.stop() or container.dispose().',
    );
    await expectCheckpointError(() => checkpointing.saveNow(), 'Released');
    await checkpointing.stop(); // idempotent
    await di.dispose();
  });

  it('manager.close() runs the final saves first, then closes the storage', async () => {
    const storage = new MemoryStorage();
    const { di, manager } = await setUp(storage);
    await startCheckpointing(di, { services: [Orders] });
    di.resolve(Orders).placed.push('saved at close');
    const atClose: string[][] = [];
    const close = storage.close.bind(storage);
    storage.close = async () => {
      atClose.push(await storage.checkpointIdentifiers());
      await close();
    };
    await manager.close();
    expect(atClose).toEqual([['@series:svc.orders:000000000001']]);
    await expectCheckpointError(() => requestSave(di.resolve(Orders)), 'Released');
  });

  it('onShutdown: false skips the final save', async () => {
    const { di, wrapper } = await setUp();
    @injectable()
    @CheckpointedState({ series: 'svc.quiet', onShutdown: false })
    class Quiet {
      @CheckpointField() n: number = 0;
    }
    const checkpointing = await startCheckpointing(di, { services: [Quiet] });
    di.resolve(Quiet).n = 5;
    await checkpointing.stop();
    expect(wrapper.creates).toBe(0);
  });

  it('container.dispose() runs the final saves before the storage closes', async () => {
    const storage = new MemoryStorage();
    const { di } = await setUp(storage);
    await startCheckpointing(di, { services: [Orders] });
    di.resolve(Orders).placed.push('saved at dispose');
    const seen = await storage.checkpointIdentifiers();
    expect(seen).toEqual([]);
    // MemoryStorage forgets everything when closed: read what dispose wrote just before.
    const ids: string[][] = [];
    const close = storage.close.bind(storage);
    storage.close = async () => {
      ids.push(await storage.checkpointIdentifiers());
      await close();
    };
    await di.dispose();
    expect(ids).toEqual([['@series:svc.orders:000000000001']]);
  });
});

describe('child containers', () => {
  it("disposing the child runs its services' final saves; the parent's manager stays open", async () => {
    const { di: parent, manager } = await setUp();
    const child = parent.createChildContainer();
    await startCheckpointing(child, { services: [Orders] });
    const orders = child.resolve(Orders);
    expect(orders).not.toBe(parent.isRegistered(Orders) ? parent.resolve(Orders) : undefined);
    orders.placed.push('saved by child.dispose()');
    await child.dispose();
    expect((await manager.series('svc.orders').restoreLatest('state')) as Orders).toMatchObject({
      placed: ['saved by child.dispose()'],
    });
    await parent.dispose();
  });
});

describe('failures', () => {
  it('retries a failed save with backoff, keeps the previous checkpoint, reports each failure', async () => {
    const { di, wrapper, manager } = await setUp();
    const errors: [CheckpointError, CheckpointingErrorEvent][] = [];
    const checkpointing = await startCheckpointing(di, {
      services: [Orders],
      onError: (error, event) => errors.push([error, event]),
      retry: { initialDelay: 1_000, maxDelay: 3_000 },
    });
    const events: CheckpointingErrorEvent[] = [];
    checkpointing.on('error', (event) => events.push(event));
    const orders = di.resolve(Orders);
    orders.place('kept');
    await next(checkpointing, 'saved');

    wrapper.failNext(3);
    orders.place('lost for a while');
    await until(() => errors.length === 1);
    expect(errors[0]![0].kind).toBe('Io');
    expect(errors[0]![1]).toMatchObject({ series: 'svc.orders', retryIn: 1_000, stopped: false });
    expect((await manager.series('svc.orders').latest())!.sequence).toBe(1);
    await vi.advanceTimersByTimeAsync(1_000);
    await until(() => errors.length === 2);
    expect(errors[1]![1]).toMatchObject({ trigger: 'retry', retryIn: 2_000 });
    await vi.advanceTimersByTimeAsync(2_000);
    await until(() => errors.length === 3);
    expect(errors[2]![1].retryIn).toBe(3_000);
    const saved = next(checkpointing, 'saved');
    await vi.advanceTimersByTimeAsync(3_000);
    expect((await saved).info.sequence).toBe(2);
    expect(events).toHaveLength(3);
    expect((await manager.series('svc.orders').restoreLatest('state')) as Orders).toMatchObject({
      placed: ['kept', 'lost for a while'],
    });
    await checkpointing.stop();
  });

  it('never runs two saves of one service at once: requests during a save make one more', async () => {
    const { di, wrapper } = await setUp();
    const checkpointing = await startCheckpointing(di, { services: [Orders] });
    const orders = di.resolve(Orders);
    const saves: number[] = [];
    checkpointing.on('saved', ({ info }) => saves.push(info.sequence));
    wrapper.hold();
    orders.place('a');
    for (let i = 0; i < 20; i++) orders.place(`b${i}`);
    await vi.advanceTimersByTimeAsync(10);
    wrapper.release();
    await until(() => saves.length === 2);
    await checkpointing.saveNow();
    expect(saves).toEqual([1, 2]);
    expect(wrapper.maxConcurrent).toBe(1);
    await checkpointing.stop();
  });

  it('a Conflict stops autosave for the service and is reported', async () => {
    const { di, wrapper, manager } = await setUp();
    const errors: CheckpointingErrorEvent[] = [];
    const checkpointing = await startCheckpointing(di, {
      services: [Orders],
      onError: (_error, event) => errors.push(event),
    });
    const orders = di.resolve(Orders);
    // Another replica saves into the same series.
    const other = manager.series('svc.orders');
    await other.latest();
    await other.save({ state: Object.assign(new Orders(), { placed: ['replica'] }) });

    orders.place('mine');
    await until(() => errors.length === 1);
    expect(errors[0]).toMatchObject({ stopped: true, retryIn: undefined });
    expect(errors[0]!.error.kind).toBe('Conflict');
    expect(errors[0]!.error.message).toContain(
      'Series "svc.orders" changed under this writer: this handle saw it empty, but sequence 1 is now the latest',
    );
    orders.place('more'); // no save, no second report
    await vi.advanceTimersByTimeAsync(120_000);
    await expectCheckpointError(() => checkpointing.saveNow(orders), 'Conflict');
    await checkpointing.stop(); // no final save either
    expect(wrapper.commits).toBe(1);
    expect(errors).toHaveLength(1);
  });

  it('reports a state that cannot be encoded as Serialize, without crashing', async () => {
    const { di } = await setUp();
    @injectable()
    @CheckpointedState({ series: 'svc.bad' })
    class Bad {
      @CheckpointField({ type: () => Object }) data: unknown = {};
    }
    const errors: CheckpointError[] = [];
    const checkpointing = await startCheckpointing(di, {
      services: [Bad],
      onError: (error) => errors.push(error),
    });
    const bad = di.resolve(Bad);
    bad.data = { callback: () => 1 };
    requestSave(bad);
    await until(() => errors.length === 1);
    expect(errors[0]!.kind).toBe('Serialize');
    bad.data = { fine: true };
    await vi.advanceTimersByTimeAsync(1_000); // the retry saves the fixed state
    await checkpointing.saveNow();
    await checkpointing.stop();
  });
});

describe('without onError or listeners', () => {
  it('a failed save becomes a process warning, never an unhandled rejection', async () => {
    const { di, wrapper } = await setUp();
    const checkpointing = await startCheckpointing(di, { services: [Orders] });
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      wrapper.failNext(1);
      di.resolve(Orders).place('x');
      await until(() => warnings.length === 1);
      expect(warnings[0]).toContain(
        'checkpointable: series "svc.orders": Cannot commit checkpoint',
      );
    } finally {
      process.off('warning', onWarning);
    }
    await checkpointing.stop();
  });
});

it('registerCheckpointing with a memory storage string works end to end', async () => {
  const di = container.createChildContainer();
  await registerCheckpointing(di, { storage: 'memory:' });
  const checkpointing = await startCheckpointing(di, { services: [Orders] });
  di.resolve(Orders).place('one');
  await checkpointing.saveNow();
  await di.dispose();
});
