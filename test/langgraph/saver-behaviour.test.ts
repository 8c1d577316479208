import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { RunnableConfig } from '@langchain/core/runnables';
import { MemorySaver, uuid6, type Checkpoint } from '@langchain/langgraph-checkpoint';
import {
  CheckpointError,
  FileStorage,
  InstrumentedStorage,
  MemoryStorage,
  type CheckpointInstrumentation,
} from 'checkpointable';
import { CheckpointableSaver, LANGGRAPH_PREFIX } from 'checkpointable/langgraph';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const ROOT = resolve(__dirname, '../..');
const run = promisify(execFile);
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'cp-saver-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A state with every kind of value LangGraph's own serializer loses. */
function richState() {
  const node: { name: string; self?: unknown } = { name: 'loop' };
  node.self = node;
  return {
    at: new Date('2026-12-01T10:00:00.000Z'),
    stock: new Map([['apple', 3]]),
    tags: new Set(['b2b', 'vip']),
    total: 12345678901234567890123n,
    node,
  };
}

function checkpointOf(channelValues: Record<string, unknown>): Checkpoint {
  const versions = Object.fromEntries(Object.keys(channelValues).map((k) => [k, 1]));
  return {
    v: 4,
    id: uuid6(0),
    ts: new Date().toISOString(),
    channel_values: channelValues,
    channel_versions: versions,
    versions_seen: {},
  };
}

async function roundTrip(saver: MemorySaver | CheckpointableSaver) {
  const state = richState();
  const checkpoint = checkpointOf(state);
  const config = await saver.put(
    { configurable: { thread_id: 't' } },
    checkpoint,
    { source: 'input', step: -1, parents: {} },
    checkpoint.channel_versions,
  );
  return (await saver.getTuple(config))!.checkpoint.channel_values as Record<string, unknown>;
}

describe('CheckpointableSaver value fidelity', () => {
  it('brings back Dates, Maps, Sets, bigints and cycles as themselves', async () => {
    const back = await roundTrip(new CheckpointableSaver(MemoryStorage.create()));
    expect(back.at).toEqual(new Date('2026-12-01T10:00:00.000Z'));
    expect(back.stock).toEqual(new Map([['apple', 3]]));
    expect(back.tags).toEqual(new Set(['b2b', 'vip']));
    expect(back.total).toBe(12345678901234567890123n);
    const node = back.node as { name: string; self: unknown };
    expect(node.self).toBe(node);
  });

  it("is what LangGraph's own MemorySaver does not do with the same values", async () => {
    // One thread per kind of value, since one bigint loses the whole state there.
    const saver = new MemorySaver();
    const state = richState();
    const back: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(state)) {
      const checkpoint = checkpointOf({ [name]: value });
      const config = await saver.put({ configurable: { thread_id: name } }, checkpoint, {
        source: 'input',
        step: -1,
        parents: {},
      });
      const values = (await saver.getTuple(config))!.checkpoint.channel_values as
        Record<string, unknown> | undefined;
      back[name] = values?.[name];
    }
    expect(back.at).toBe('2026-12-01T10:00:00.000Z'); // a string, not a Date
    expect(back.total).toBeUndefined(); // the bigint's whole state is gone
    expect((back.node as { self: unknown }).self).toBe('[Circular]');
  });
});

describe('CheckpointableSaver storage layout', () => {
  it('finds the latest checkpoint of a thread by identifier, and deleteThread removes everything', async () => {
    const storage = await FileStorage.open(join(dir, 's'));
    const saver = new CheckpointableSaver(storage);
    let config: RunnableConfig = { configurable: { thread_id: 'a/b:c', checkpoint_ns: '' } };
    for (let step = 0; step < 5; step++) {
      const checkpoint = { ...checkpointOf({ step }), id: uuid6(step) };
      config = await saver.put(
        config,
        checkpoint,
        { source: 'loop', step, parents: {} },
        {
          step: step + 1,
        },
      );
      await saver.putWrites(config, [['step', step + 10]], `task-${step}`);
    }
    await saver.put(
      { configurable: { thread_id: 'other' } },
      checkpointOf({ x: 1 }),
      { source: 'input', step: -1, parents: {} },
      { x: 1 },
    );
    const latest = await saver.getTuple({ configurable: { thread_id: 'a/b:c' } });
    expect(latest?.checkpoint.channel_values).toEqual({ step: 4 });
    expect(latest?.pendingWrites).toEqual([['task-4', 'step', 14]]);
    expect(latest?.parentConfig?.configurable?.checkpoint_id).toBeDefined();
    // Every identifier stays inside the grammar although the thread id has '/' and ':'.
    const ids = await storage.checkpointIdentifiers();
    expect(ids.every((id) => id.startsWith(LANGGRAPH_PREFIX))).toBe(true);
    expect(ids).toHaveLength(11);
    await saver.deleteThread('a/b:c');
    expect(await storage.checkpointIdentifiers()).toHaveLength(1);
    expect(await saver.getTuple({ configurable: { thread_id: 'a/b:c' } })).toBeUndefined();
    await saver.close();
    await expect(storage.checkpointIdentifiers()).rejects.toMatchObject({ kind: 'Released' });
  });

  it('refuses a checkpoint under its prefix that it did not write, with Deserialize', async () => {
    const config = { thread_id: 't', checkpoint_ns: '', checkpoint_id: uuid6(0) };
    const foreign: [string, unknown][] = [
      [
        'a record whose metadata is not a stored value',
        { config, metadata: 'x', checkpoint: {}, holders: new Map() },
      ],
      [
        'a record whose holders are not a Map',
        { config, metadata: 'x', checkpoint: {}, holders: {} },
      ],
      ['a record without a config', { metadata: 'x', checkpoint: {}, holders: new Map() }],
      ['a string', 'not a record'],
    ];
    for (const [what, record] of foreign) {
      const storage = MemoryStorage.create();
      const draft = await storage.createCheckpoint(`${LANGGRAPH_PREFIX}t::c:${uuid6(0)}`);
      await draft.put('record', record);
      await (await storage.commitCheckpoint(draft)).release();
      const saver = new CheckpointableSaver(storage);
      const error = await saver.getTuple({ configurable: { thread_id: 't' } }).catch((e) => e);
      expect(error, what).toBeInstanceOf(CheckpointError);
      expect((error as CheckpointError).kind, what).toBe('Deserialize');
      await saver.close();
    }
  });
});

describe('CheckpointableSaver list()', () => {
  it('filters on metadata labels first, reading only the checkpoints that match', async () => {
    const loads: string[] = [];
    const counting: CheckpointInstrumentation = {
      operation: (name, attributes, work) => {
        if (name === 'load') loads.push(String(attributes['checkpoint.identifier']));
        return work({ set() {} });
      },
    };
    const saver = new CheckpointableSaver(
      new InstrumentedStorage(MemoryStorage.create(), counting),
    );
    let config: RunnableConfig = { configurable: { thread_id: 'filtered' } };
    const ids: string[] = [];
    for (let step = 0; step < 20; step++) {
      const checkpoint = { ...checkpointOf({ step }), id: uuid6(step) };
      ids.push(checkpoint.id);
      const source = step % 2 === 0 ? 'input' : 'loop';
      config = await saver.put(config, checkpoint, { source, step, parents: {} }, { step: 1 });
    }
    loads.length = 0;
    const found: number[] = [];
    for await (const tuple of saver.list(
      { configurable: { thread_id: 'filtered' } },
      { filter: { source: 'input' } },
    )) {
      found.push(tuple.metadata!.step);
    }
    expect(found).toEqual([18, 16, 14, 12, 10, 8, 6, 4, 2, 0]);
    // Every step stored its own channel, so no holder is read: only the matches are loaded.
    const loadedIds = new Set(loads.map((identifier) => identifier.slice(-36)));
    expect(loadedIds).toEqual(new Set(ids.filter((_, step) => step % 2 === 0)));
    await saver.close();
  });
});

describe('samples/langgraph-agent.ts', () => {
  it('stops before approval, and a new process resumes the thread from the encrypted folder', async () => {
    const folder = join(dir, 'agent');
    const step = async (command: string) => {
      const { stdout } = await run(
        process.execPath,
        ['-r', '@swc-node/register', 'samples/langgraph-agent.ts', command, folder],
        { cwd: ROOT, encoding: 'utf8' },
      );
      return JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
    };
    expect(await step('start')).toEqual({
      next: ['approve'],
      log: ['started', 'collected', 'priced'],
      items: [
        ['apple', 3],
        ['pear', 1],
      ],
      tags: ['b2b'],
      totalCents: '459n',
      approvedAt: null,
    });
    expect(await step('resume')).toEqual({
      next: [],
      log: ['started', 'collected', 'priced', 'approved', 'shipped 2 lines'],
      items: [
        ['apple', 3],
        ['pear', 1],
      ],
      tags: ['b2b'],
      totalCents: '459n',
      approvedAt: '2026-12-01T10:00:00.000Z',
    });
  });
});
