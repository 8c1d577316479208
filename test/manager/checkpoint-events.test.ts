import {
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ChecksumWrapper,
  CheckpointedState,
  CheckpointError,
  CheckpointField,
  CheckpointManager,
  startCheckpointing,
  type AutosaveFailedEvent,
  type ConflictEvent,
  FileStorage,
  MemoryStorage,
  type DamagedEvent,
  type PruneEvent,
  type RemoveEvent,
  type RestoreEvent,
  type SaveEvent,
} from 'checkpointable';
import { Order, sampleOrder } from '../fixtures/manager/domain';
import { setUp } from '../services/fixtures';

let root: string;
let manager: CheckpointManager;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'cp-events-'));
});
afterEach(async () => {
  await manager.close();
  rmSync(root, { recursive: true, force: true });
});

/** Every event of every kind the manager emits, in order. */
function record(m: CheckpointManager) {
  const seen: { save: SaveEvent[]; restore: RestoreEvent[]; remove: RemoveEvent[] } & {
    prune: PruneEvent[];
    damaged: DamagedEvent[];
  } = { save: [], restore: [], remove: [], prune: [], damaged: [] };
  m.on('save', (e) => seen.save.push(e));
  m.on('restore', (e) => seen.restore.push(e));
  m.on('remove', (e) => seen.remove.push(e));
  m.on('prune', (e) => seen.prune.push(e));
  m.on('damaged', (e) => seen.damaged.push(e));
  return seen;
}

describe('manager events', () => {
  beforeEach(() => {
    manager = new CheckpointManager(MemoryStorage.create());
  });

  it('reports saves with keys, bytes and duration, and failed saves with their error kind', async () => {
    const seen = record(manager);
    await manager.save('a', { order: sampleOrder(), note: 'x' });
    await expect(manager.save('a', { note: 'again' })).rejects.toThrow(CheckpointError);
    await expect(manager.save('b', { f: () => 1 })).rejects.toThrow(CheckpointError);
    expect(seen.save).toHaveLength(3);
    const [ok, exists, bad] = seen.save;
    expect(ok).toMatchObject({ identifier: 'a', keys: 2 });
    expect(ok.errorKind).toBeUndefined();
    expect(ok.bytes).toBeGreaterThan(50);
    expect(ok.durationMs).toBeGreaterThanOrEqual(0);
    expect(exists).toMatchObject({ identifier: 'a', keys: 1, errorKind: 'AlreadyExists' });
    expect(bad).toMatchObject({ identifier: 'b', keys: 0, bytes: 0, errorKind: 'Serialize' });
  });

  it('reports restores and removals, successful or not', async () => {
    const seen = record(manager);
    await manager.save('a', { order: sampleOrder() });
    const order = await manager.restore('a', 'order', Order);
    expect(order).toBeInstanceOf(Order);
    await expect(manager.restore('a', 'missing')).rejects.toThrow(CheckpointError);
    await manager.restoreInto('a', 'order', new Order());
    await manager.remove('a');
    await expect(manager.remove('a')).rejects.toThrow(CheckpointError);
    expect(seen.restore.map((e) => [e.key, e.errorKind])).toEqual([
      ['order', undefined],
      ['missing', 'KeyNotFound'],
      ['order', undefined],
    ]);
    expect(seen.restore[0].bytes).toBeGreaterThan(50);
    expect(seen.restore[2].bytes).toBe(seen.restore[0].bytes);
    expect(seen.remove.map((e) => [e.identifier, e.errorKind])).toEqual([
      ['a', undefined],
      ['a', 'NotFound'],
    ]);
  });

  it('keeps saving when a listener throws, and turns its error into a process warning', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      manager.on('save', () => {
        throw new Error('listener bug');
      });
      const later: string[] = [];
      manager.on('save', (e) => later.push(e.identifier));
      await expect(manager.save('a', { n: 1 })).resolves.toMatchObject({ identifier: 'a' });
      expect(later).toEqual(['a']); // the other listeners still ran
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
      expect(warnings.map((w) => w.name)).toEqual(['CheckpointListenerError']);
      expect(warnings[0].message).toContain('listener bug');
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('stops calling a listener once its off() ran', async () => {
    const ids: string[] = [];
    const off = manager.on('save', (e) => ids.push(e.identifier));
    await manager.save('a', { n: 1 });
    off();
    await manager.save('b', { n: 1 });
    expect(ids).toEqual(['a']);
  });
});

describe('listing skips and reports what it cannot read', () => {
  let dir: string;
  beforeEach(async () => {
    dir = join(root, 'store');
    manager = new CheckpointManager(ChecksumWrapper.wrap(await FileStorage.openRaw(dir)));
    for (const id of ['c1', 'c2', 'c3', 'c4']) {
      await manager.save(id, { id });
      await new Promise((r) => setTimeout(r, 2)); // distinct creation times
    }
  });

  /** Flips the last byte of the value under `key` in a checkpoint's pack. */
  function damageValue(identifier: string, key: string) {
    const path = join(dir, 'committed', identifier);
    const pack = readFileSync(path);
    const headerLength = pack.readUInt32LE(5);
    const header = JSON.parse(pack.subarray(9, 9 + headerLength).toString('utf8')) as {
      keys: [string, number, number][];
    };
    const [, offset, length] = header.keys.find(([k]) => k === key)!;
    pack[9 + headerLength + offset + length - 1] ^= 0xff;
    writeFileSync(path, pack);
  }

  /** Breaks the header JSON of a checkpoint's pack: what listing reads. */
  function damageHeader(identifier: string) {
    const path = join(dir, 'committed', identifier);
    const pack = readFileSync(path);
    pack[9] = 0x21; // the header's opening brace becomes "!"
    writeFileSync(path, pack);
  }

  it('lists the readable checkpoints and reports the damaged one', async () => {
    damageHeader('c2');
    const seen = record(manager);
    expect((await manager.list()).map((c) => c.identifier)).toEqual(['c1', 'c3', 'c4']);
    expect(seen.damaged).toHaveLength(1);
    expect(seen.damaged[0]).toMatchObject({ identifier: 'c2', errorKind: 'Deserialize' });
    expect(seen.damaged[0].message).toContain('its header is not valid JSON');
  });

  it('lists from metadata only, and a restore still verifies the values', async () => {
    damageValue('c2', 'id');
    const seen = record(manager);
    expect((await manager.list()).map((c) => c.identifier)).toEqual(['c1', 'c2', 'c3', 'c4']);
    expect(seen.damaged).toEqual([]);
    const error = await manager.restoreAll('c2').catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'Integrity', identifier: 'c2' });
  });

  it('prunes around a damaged checkpoint, and says it neither kept nor removed it', async () => {
    truncateSync(join(dir, 'committed', 'c1'), 20); // a cut pack: FileStorage refuses it
    const seen = record(manager);
    const result = await manager.prune({ keepLast: 1 });
    expect(result).toEqual({ removed: ['c2', 'c3'], inUse: [], damaged: ['c1'] });
    expect(seen.damaged.map((e) => [e.identifier, e.errorKind])).toEqual([['c1', 'Deserialize']]);
    expect(seen.prune).toHaveLength(1);
    expect(seen.prune[0]).toMatchObject({ removed: ['c2', 'c3'], inUse: [] });
    // Hidden names are staging files the open storage keeps ready for its next commits.
    const names = readdirSync(join(dir, 'committed')).filter((name) => !name.startsWith('.'));
    expect(names.sort()).toEqual(['c1', 'c4']);
  });

  it('still fails the listing when the medium itself fails', async () => {
    rmSync(join(dir, 'committed'), { recursive: true });
    await expect(manager.list()).rejects.toMatchObject({ kind: 'Io' });
  });
});

describe('events of series and automatic state', () => {
  @CheckpointedState({ series: 'events-orders', onShutdown: false })
  class Orders {
    @CheckpointField() count: number = 0;
  }

  it('reports a stale series writer as a conflict event', async () => {
    manager = new CheckpointManager(MemoryStorage.create());
    const conflicts: ConflictEvent[] = [];
    manager.on('conflict', (e) => conflicts.push(e));
    const first = manager.series('orders');
    const second = manager.series('orders');
    await first.latest();
    await second.latest();
    await first.save({ n: 1 });
    await expect(second.save({ n: 2 })).rejects.toMatchObject({ kind: 'Conflict' });
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0]).toMatchObject({
      series: 'orders',
      identifier: '@series:orders:000000000001',
    });
    expect(conflicts[0].error.kind).toBe('Conflict');
  });

  it('reports a failed automatic save as autosave-failed, with the series and error kind', async () => {
    const { di, wrapper, manager: m } = await setUp();
    manager = m;
    const failed: AutosaveFailedEvent[] = [];
    manager.on('autosave-failed', (e) => failed.push(e));
    const checkpointing = await startCheckpointing(di, { services: [Orders], onError: () => {} });
    const orders = di.resolve(Orders);
    orders.count = 5;
    wrapper.failNext(1);
    await expect(checkpointing.saveNow(orders)).rejects.toMatchObject({ kind: 'Io' });
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ series: 'events-orders', errorKind: 'Io', stopped: false });
    expect(failed[0].service).toBe(orders);
    await checkpointing.stop();
  });
});
