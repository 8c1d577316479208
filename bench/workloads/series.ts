import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { container, injectable } from 'tsyringe';
import {
  Checkpointable,
  CheckpointedState,
  CheckpointField,
  CheckpointManager,
  FileStorage,
  formatSeriesIdentifier,
  registerCheckpointing,
  startCheckpointing,
  type Storage,
} from 'checkpointable';
import { compare, type Budget } from '../harness';
import { notMeasured, ratioRow, type Row } from '../report';
import { commitOne } from './file-storage';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

@Checkpointable({ name: 'BenchSeriesEntry' })
class Entry {
  @CheckpointField() id!: string;
  @CheckpointField() note!: string;
  @CheckpointField() amount!: number;
  @CheckpointField() at!: Date;
}

/** About `kb` KB of encoded state: entries of ~100 bytes each. */
function makeEntries(kb: number): Entry[] {
  return Array.from({ length: kb * 10 }, (_, i) =>
    Object.assign(new Entry(), {
      id: `entry-${String(i).padStart(6, '0')}`,
      note: `note number ${i} of the bench state`,
      amount: (i * 37) % 10_000,
      at: new Date(Date.UTC(2026, 0, 1) + i * 1000),
    }),
  );
}

@injectable()
@CheckpointedState({ series: 'bench.autosave', every: 3_600_000 })
class BenchService {
  @CheckpointField({ type: () => Entry }) entries: Entry[] = makeEntries(100);
}

/**
 * Checkpoint series: `series.save` against `manager.save` of the same state, an autosave
 * tick of an unchanged 100 KB state against a save of it, and `latest()` with 10,000
 * checkpoints in the series (FileStorage and PostgreSQL), also with 10,000 more in
 * another series of the same storage.
 */
export async function seriesBenchmarks({
  io,
  cpu,
  quick,
}: {
  io: Budget;
  cpu: Budget;
  quick: boolean;
}): Promise<Row[]> {
  const rows: Row[] = [];
  rows.push(await saveRow(io));
  rows.push(await autosaveTickRow(io));
  const count = 10_000;
  rows.push(...(await latestRows('FileStorage', count, cpu, quick, openFile)));
  rows.push(...(await latestRows('PostgresStorage', count, cpu, quick, openPostgres)));
  return rows;
}

async function saveRow(io: Budget): Promise<Row> {
  const root = mkdtempSync(join(tmpdir(), 'cp-bench-series-'));
  try {
    const seriesManager = new CheckpointManager(await FileStorage.open(join(root, 's')));
    const plainManager = new CheckpointManager(await FileStorage.open(join(root, 'p')));
    const state = makeEntries(4);
    const series = seriesManager.series('bench');
    await series.latest();
    let n = 0;
    const result = await compare(
      () => series.save({ state }),
      { save: () => plainManager.save(`plain-${String(n++).padStart(8, '0')}`, { state }) },
      io,
    );
    await seriesManager.close();
    await plainManager.close();
    return ratioRow({
      name: 'series.save of a 4 KB state, FileStorage',
      value: result.subjectMs,
      unit: 'ms',
      baselineName: 'manager.save of the same state',
      baseline: result.baselineMs.save,
      ratio: result.ratio.save,
      maxRatio: 1.1,
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

async function autosaveTickRow(io: Budget): Promise<Row> {
  const root = mkdtempSync(join(tmpdir(), 'cp-bench-autosave-'));
  const scope = container.createChildContainer();
  try {
    await registerCheckpointing(scope, { storage: `file:${join(root, 'a')}` });
    const checkpointing = await startCheckpointing(scope, { services: [BenchService] });
    const service = scope.resolve(BenchService);
    const plain = new CheckpointManager(await FileStorage.open(join(root, 'p')));
    let n = 0;
    const result = await compare(
      () => checkpointing.saveNow(service),
      { save: () => plain.save(`plain-${n++}`, { state: service }) },
      io,
    );
    await checkpointing.stop();
    await plain.close();
    return ratioRow({
      name: 'autosave tick, unchanged 100 KB state, FileStorage',
      value: result.subjectMs,
      unit: 'ms',
      baselineName: 'manager.save of the same state',
      baseline: result.baselineMs.save,
      ratio: result.ratio.save,
      maxRatio: 0.05,
      targetText: '<= 5% of a save',
    });
  } finally {
    await scope.dispose();
    rmSync(root, { recursive: true, force: true });
  }
}

interface Opened {
  storage: Storage;
  cleanup: () => Promise<void>;
}

async function openFile(): Promise<Opened> {
  const root = mkdtempSync(join(tmpdir(), 'cp-bench-latest-'));
  const storage = await FileStorage.open(root, { durability: 'atomic' });
  return { storage, cleanup: async () => rmSync(root, { recursive: true, force: true }) };
}

async function openPostgres(): Promise<Opened> {
  const { PostgresStorage } = await import('checkpointable/postgres');
  const { Client } = await import('pg');
  const table = `cp_bench_series_${process.pid}_${Date.now().toString(36)}`;
  const storage = await PostgresStorage.open({ connectionString: DATABASE_URL, table });
  return {
    storage,
    cleanup: async () => {
      const client = new Client({ connectionString: DATABASE_URL });
      await client.connect();
      await client.query(`DROP TABLE IF EXISTS "${table}_values", "${table}"`);
      await client.end();
    },
  };
}

async function fill(storage: Storage, series: string, count: number): Promise<void> {
  let next = 1;
  const lane = async () => {
    while (next <= count) {
      const i = next++;
      await commitOne(storage, formatSeriesIdentifier(series, i), { i });
    }
  };
  await Promise.all(Array.from({ length: 16 }, lane));
}

async function latestRows(
  backend: string,
  count: number,
  cpu: Budget,
  quick: boolean,
  open: () => Promise<Opened>,
): Promise<Row[]> {
  const name = `series latest(), ${count.toLocaleString('en-US')} checkpoints in the series, ${backend}`;
  const crowdedName = `series latest(), plus ${count.toLocaleString('en-US')} in another series, ${backend}`;
  let alone: Opened | undefined;
  let crowded: Opened | undefined;
  try {
    try {
      alone = await open();
      crowded = await open();
    } catch (error) {
      const why = `${backend} could not be opened (${String((error as Error).message)})`;
      return [notMeasured(name, '< 5 ms', why), notMeasured(crowdedName, '<= 1.2x', why)];
    }
    await fill(alone.storage, 'orders', count);
    await fill(crowded.storage, 'orders', count);
    await fill(crowded.storage, 'audit', count);
    const aloneSeries = new CheckpointManager(alone.storage).series('orders');
    const crowdedSeries = new CheckpointManager(crowded.storage).series('orders');
    const newest = formatSeriesIdentifier('orders', count);
    const budget = {
      ...cpu,
      iterations: Math.min(cpu.iterations, 20),
      rounds: quick ? 3 : cpu.rounds,
    };
    const own = await compare(
      () => aloneSeries.latest(),
      {
        load: async () => (await alone!.storage.loadCheckpoint(newest)).release(),
      },
      budget,
    );
    const other = await compare(
      () => crowdedSeries.latest(),
      { alone: () => aloneSeries.latest() },
      budget,
    );
    return [
      {
        ...ratioRow({
          name,
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
        name: crowdedName,
        value: other.subjectMs,
        unit: 'ms',
        baselineName: 'latest() without the other series',
        baseline: other.baselineMs.alone,
        ratio: other.ratio.alone,
        maxRatio: 1.2,
      }),
    ];
  } finally {
    await alone?.storage.close();
    await crowded?.storage.close();
    await alone?.cleanup();
    await crowded?.cleanup();
  }
}
