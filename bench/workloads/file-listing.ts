import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointManager, FileStorage, formatSeriesIdentifier } from 'checkpointable';
import { compare, type Budget } from '../harness';
import { ratioRow, type Row } from '../report';
import { commitOne } from './file-storage';

/**
 * FileStorage listing by metadata: a series' `latest()` among `count` checkpoints (also with
 * `count` more of another series in the folder), and `manager.list()` of `count`
 * checkpoints against `checkpointIdentifiers()` of the same storage.
 *
 * @example
 * ```ts
 * const rows = await fileMetadataListingBenchmarks(budget, 10_000);
 * ```
 */
export async function fileMetadataListingBenchmarks(budget: Budget, count: number): Promise<Row[]> {
  const root = mkdtempSync(join(tmpdir(), 'cp-bench-file-meta-'));
  const alone = join(root, 'alone');
  const crowded = join(root, 'crowded');
  const plain = join(root, 'plain');
  const n = count.toLocaleString('en-US');
  try {
    await fillSeries(alone, ['orders'], count);
    await fillSeries(crowded, ['orders', 'audit'], count);
    await fillSaves(plain, count);
    const aloneStorage = await FileStorage.open(alone);
    const crowdedStorage = await FileStorage.open(crowded);
    const plainStorage = await FileStorage.open(plain);
    const aloneSeries = new CheckpointManager(aloneStorage).series('orders');
    const plainManager = new CheckpointManager(plainStorage);
    const crowdedSeries = new CheckpointManager(crowdedStorage).series('orders');
    const newest = formatSeriesIdentifier('orders', count);
    const bounded = { ...budget, iterations: Math.min(budget.iterations, 20) };
    if ((await aloneSeries.latest())?.identifier !== newest) {
      throw new Error(`latest() did not find ${newest}`);
    }
    const own = await compare(
      () => aloneSeries.latest(),
      { load: async () => (await aloneStorage.loadCheckpoint(newest)).release() },
      bounded,
    );
    const other = await compare(
      () => crowdedSeries.latest(),
      { alone: () => aloneSeries.latest() },
      bounded,
    );
    const listed = await plainManager.list();
    if (listed.length !== count) throw new Error(`list() gave ${listed.length}, not ${count}`);
    const list = await compare(
      () => plainManager.list(),
      { identifiers: () => plainStorage.checkpointIdentifiers() },
      bounded,
    );
    // Each call on a storage object opened for it: nothing remembered from an earlier call.
    const fresh = await compare(
      async () => {
        const storage = await FileStorage.open(plain);
        await new CheckpointManager(storage).list();
        await storage.close();
      },
      {
        identifiers: async () => {
          const storage = await FileStorage.open(plain);
          await storage.checkpointIdentifiers();
          await storage.close();
        },
      },
      { ...budget, iterations: Math.min(budget.iterations, 5) },
    );
    await aloneStorage.close();
    await crowdedStorage.close();
    await plainStorage.close();
    return [
      {
        ...ratioRow({
          name: `series latest(), ${n} checkpoints in the series, FileStorage (file-listing)`,
          value: own.subjectMs,
          unit: 'ms',
          baselineName: 'loading that one checkpoint',
          baseline: own.baselineMs.load,
          ratio: own.ratio.load,
          maxRatio: null,
          targetText: '< 5 ms',
        }),
        met: own.subjectMs < 5,
      },
      ratioRow({
        name: `series latest(), plus ${n} in another series, FileStorage (file-listing)`,
        value: other.subjectMs,
        unit: 'ms',
        baselineName: 'latest() without the other series',
        baseline: other.baselineMs.alone,
        ratio: other.ratio.alone,
        maxRatio: 1.2,
      }),
      ratioRow({
        name: `manager.list() of ${n} checkpoints, FileStorage`,
        value: list.subjectMs,
        unit: 'ms',
        baselineName: 'checkpointIdentifiers() of the same storage',
        baseline: list.baselineMs.identifiers,
        ratio: list.ratio.identifiers,
        maxRatio: 2,
        note: 'the folder is unchanged between calls: listing and summaries come from memory after one stat',
      }),
      ratioRow({
        name: `manager.list() of ${n} checkpoints, FileStorage, new storage object per call`,
        value: fresh.subjectMs,
        unit: 'ms',
        baselineName: 'open + checkpointIdentifiers() + close',
        baseline: fresh.baselineMs.identifiers,
        ratio: fresh.ratio.identifiers,
        maxRatio: null,
        note: `information: every pack header read (${n} opens), as after any change in the folder`,
      }),
    ];
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** Commits `count` checkpoints of each series into a new store at `dir`, 16 at a time. */
async function fillSeries(dir: string, series: string[], count: number): Promise<void> {
  // 'atomic' only to make the setup quicker; listing does not depend on it.
  const storage = await FileStorage.open(dir, { durability: 'atomic' });
  for (const name of series) {
    let next = 1;
    const lane = async () => {
      while (next <= count) {
        await commitOne(storage, formatSeriesIdentifier(name, next++), { note: 'bench' });
      }
    };
    await Promise.all(Array.from({ length: 16 }, lane));
  }
  await storage.close();
}

/** Saves `count` checkpoints through a manager (with their labels), 16 at a time. */
async function fillSaves(dir: string, count: number): Promise<void> {
  const storage = await FileStorage.open(dir, { durability: 'atomic' });
  const manager = new CheckpointManager(storage);
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      await manager.save(`checkpoint-${String(i).padStart(6, '0')}`, { order: { id: i } });
    }
  };
  await Promise.all(Array.from({ length: 16 }, lane));
  await storage.close();
}
