import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ChecksumWrapper,
  EncryptionWrapper,
  FileStorage,
  HmacWrapper,
  MemoryStorage,
  type Storage,
} from 'checkpointable';
import { compare, type Budget, type Comparison } from '../harness';
import { ratioRow, type Row } from '../report';

const KEY = randomBytes(32);

/** The wrappers measured, each with its target ratio to the unwrapped storage. */
const WRAPPERS: [string, (inner: Storage) => Storage, number][] = [
  ['ChecksumWrapper (SHA-256)', (inner) => ChecksumWrapper.wrap(inner), 1.2],
  ['HmacWrapper', (inner) => HmacWrapper.wrap(inner, KEY), 1.2],
  ['EncryptionWrapper', (inner) => EncryptionWrapper.wrap(inner, KEY), 1.5],
];

/**
 * One full use of a 64 KiB value: put, commit, load, get. `remove` keeps a memory
 * storage from growing without bound over thousands of iterations.
 */
async function cycle(storage: Storage, identifier: string, value: Buffer, remove: boolean) {
  const draft = await storage.createCheckpoint(identifier);
  await draft.put('value', value);
  await (await storage.commitCheckpoint(draft)).release();
  const loaded = await storage.loadCheckpoint(identifier);
  const back = await loaded.get<Buffer>('value');
  await loaded.release();
  if (back.length !== value.length) throw new Error('the value did not come back');
  if (remove) await storage.removeCheckpoint(identifier);
}

/**
 * One full use of a checkpoint of many small values: put 20 values of 100 bytes, commit,
 * load, get every one. Here the per-checkpoint work of HMAC and encryption (the seal
 * written at commit and read and checked at load) weighs most against the values.
 */
async function smallValuesCycle(
  storage: Storage,
  identifier: string,
  values: readonly Buffer[],
  remove: boolean,
) {
  const draft = await storage.createCheckpoint(identifier);
  await Promise.all(values.map((value, i) => draft.put(`k${i}`, value)));
  await (await storage.commitCheckpoint(draft)).release();
  const loaded = await storage.loadCheckpoint(identifier);
  for (let i = 0; i < values.length; i++) {
    const back = await loaded.get<Buffer>(`k${i}`);
    if (back.length !== values[i].length) throw new Error('a value did not come back');
  }
  await loaded.release();
  if (remove) await storage.removeCheckpoint(identifier);
}

/** The sealing wrappers, measured on checkpoints of many small values, with targets. */
const SEALING: [string, (inner: Storage) => Storage, number][] = [
  ['HmacWrapper', (inner) => HmacWrapper.wrap(inner, KEY), 1.5],
  ['EncryptionWrapper', (inner) => EncryptionWrapper.wrap(inner, KEY), 1.5],
];

/**
 * HMAC and encryption on a checkpoint of 20 values of 100 bytes, as a ratio to the same
 * storage unwrapped: the cost of authenticating the checkpoint as a whole (one more
 * value written at commit and read at load) where it is largest relative to the data.
 */
async function sealingBenchmarks(cpu: Budget, io: Budget): Promise<Row[]> {
  const values = Array.from({ length: 20 }, () => randomBytes(100));
  const rows: Row[] = [];
  for (const [name, wrap, maxRatio] of SEALING) {
    let n = 0;
    const bare = new MemoryStorage();
    const wrapped = wrap(new MemoryStorage());
    const memory = await compare(
      () => smallValuesCycle(wrapped, `m-${n++}`, values, true),
      { unwrapped: () => smallValuesCycle(bare, `m-${n++}`, values, true) },
      cpu,
    );
    rows.push(
      ratioRow({
        name: `${name}, 20 x 100 B put+commit+load+get, MemoryStorage`,
        value: memory.subjectMs,
        unit: 'ms',
        baselineName: 'unwrapped MemoryStorage',
        baseline: memory.baselineMs.unwrapped,
        ratio: memory.ratio.unwrapped,
        maxRatio: null,
        note: `information: the wrapper's own CPU cost is ${((memory.subjectMs - memory.baselineMs.unwrapped) * 1000).toFixed(0)} µs per checkpoint of 20 values, seal included`,
      }),
    );
    const file = await compareOnDurableFiles(wrap, io, (storage, id) =>
      smallValuesCycle(storage, id, values, false),
    );
    rows.push(
      ratioRow({
        name: `${name}, 20 x 100 B put+commit+load+get, durable FileStorage`,
        value: file.subjectMs,
        unit: 'ms',
        baselineName: 'unwrapped durable FileStorage',
        baseline: file.baselineMs.unwrapped,
        ratio: file.ratio.unwrapped,
        maxRatio,
      }),
    );
  }
  return rows;
}

/**
 * Times `work` through a `wrap`ped durable FileStorage against the same work on the bare
 * one, interleaved, each round on fresh folders so that neither side works in a fuller one.
 */
async function compareOnDurableFiles(
  wrap: (storage: Storage) => Storage,
  io: Budget,
  work: (storage: Storage, identifier: string) => Promise<unknown>,
): Promise<Comparison> {
  const root = mkdtempSync(join(tmpdir(), 'cp-bench-wrap-'));
  let round = 0;
  let n = 0;
  let plain: Storage | undefined;
  let wrapped: Storage | undefined;
  try {
    return await compare(
      () => work(wrapped!, `f-${n++}`),
      { unwrapped: () => work(plain!, `f-${n++}`) },
      io,
      {
        beforeRound: async () => {
          round++;
          plain = await FileStorage.open(join(root, `plain-${round}`));
          wrapped = wrap(await FileStorage.open(join(root, `wrapped-${round}`)));
        },
        afterRound: async () => {
          await plain?.close();
          await wrapped?.close();
          rmSync(join(root, `plain-${round}`), { recursive: true, force: true });
          rmSync(join(root, `wrapped-${round}`), { recursive: true, force: true });
        },
      },
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/**
 * Each wrapper's cost on a 64 KiB value, as a ratio to the same storage unwrapped:
 * on MemoryStorage (the wrapper's CPU cost laid bare) and on durable FileStorage (what a
 * user of the default medium pays); then HMAC and encryption on many small values.
 */
export async function wrapperBenchmarks(cpu: Budget, io: Budget): Promise<Row[]> {
  const value = randomBytes(64 * 1024);
  const rows: Row[] = [];
  for (const [name, wrap, maxRatio] of WRAPPERS) {
    let n = 0;
    const bare = new MemoryStorage();
    const wrapped = wrap(new MemoryStorage());
    const memory = await compare(
      () => cycle(wrapped, `m-${n++}`, value, true),
      { unwrapped: () => cycle(bare, `m-${n++}`, value, true) },
      cpu,
    );
    rows.push(
      ratioRow({
        name: `${name}, 64 KiB put+commit+load+get, MemoryStorage`,
        value: memory.subjectMs,
        unit: 'ms',
        baselineName: 'unwrapped MemoryStorage',
        baseline: memory.baselineMs.unwrapped,
        ratio: memory.ratio.unwrapped,
        // An unwrapped memory round trip is a few buffer copies (~10 µs), so this ratio
        // says how many copies a hash or cipher pass costs; the target applies to a medium.
        maxRatio: null,
        note: `information: the wrapper's own CPU cost is ${((memory.subjectMs - memory.baselineMs.unwrapped) * 1000).toFixed(0)} µs per 64 KiB round trip`,
      }),
    );

    const file = await compareOnDurableFiles(wrap, io, (storage, id) =>
      cycle(storage, id, value, false),
    );
    rows.push(
      ratioRow({
        name: `${name}, 64 KiB put+commit+load+get, durable FileStorage`,
        value: file.subjectMs,
        unit: 'ms',
        baselineName: 'unwrapped durable FileStorage',
        baseline: file.baselineMs.unwrapped,
        ratio: file.ratio.unwrapped,
        maxRatio,
      }),
    );
  }
  rows.push(...(await sealingBenchmarks(cpu, io)));
  return rows;
}
