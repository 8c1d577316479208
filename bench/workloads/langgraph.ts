import { randomBytes } from 'node:crypto';
import { MemorySaver, uuid6, type BaseCheckpointSaver } from '@langchain/langgraph-checkpoint';
import { PostgresSaver } from '@langchain/langgraph-checkpoint-postgres';
import { Pool } from 'pg';
import { MemoryStorage } from 'checkpointable';
import { CheckpointableSaver } from 'checkpointable/langgraph';
import { PostgresStorage } from 'checkpointable/postgres';
import { compare, type Budget } from '../harness';
import { notMeasured, ratioRow, type Row } from '../report';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const RUN = randomBytes(4).toString('hex');

/** An agent state of about `bytes` bytes: a conversation of messages as plain objects. */
function stateOf(bytes: number): Record<string, unknown> {
  const count = Math.max(1, Math.round(bytes / 240));
  const messages = Array.from({ length: count }, (_, i) => ({
    role: i % 2 === 0 ? 'user' : 'assistant',
    content: `message ${i}: ${'lorem ipsum dolor sit amet '.repeat(7)}`,
    id: `m-${i}`,
  }));
  return { messages, step: count };
}

/** One put of the next checkpoint of a thread, then a getTuple of the thread's latest. */
function putThenGet(saver: BaseCheckpointSaver, state: Record<string, unknown>, thread: string) {
  let parent: string | undefined;
  let n = 0;
  const versions = Object.fromEntries(Object.keys(state).map((k) => [k, 1]));
  return async () => {
    const id = uuid6(n++);
    const config = await saver.put(
      { configurable: { thread_id: thread, checkpoint_ns: '', checkpoint_id: parent } },
      {
        v: 4,
        id,
        ts: new Date().toISOString(),
        channel_values: state,
        channel_versions: versions,
        versions_seen: {},
      },
      { source: 'loop', step: n, parents: {} },
      versions,
    );
    parent = id;
    const tuple = await saver.getTuple({ configurable: { thread_id: thread } });
    if (tuple?.checkpoint.id !== id) throw new Error('getTuple did not return the latest put');
    return config;
  };
}

/**
 * CheckpointableSaver against LangGraph's own savers on the same kind of backend: put +
 * getTuple of a 1 KB and a 118 KB state, interleaved in one run. MemorySaver keeps
 * serialized JSON in a JavaScript object; PostgresSaver writes to PostgreSQL. Targets:
 * at most 1x each.
 */
export async function langgraphBenchmarks({
  cpu,
  io,
}: {
  cpu: Budget;
  io: Budget;
}): Promise<Row[]> {
  const rows: Row[] = [];
  for (const bytes of [1_000, 118_000]) {
    const state = stateOf(bytes);
    const size = `${Math.round(JSON.stringify(state).length / 1000)} KB state`;
    const ours = new CheckpointableSaver(MemoryStorage.create());
    const result = await compare(
      putThenGet(ours, state, 't'),
      { memory: putThenGet(new MemorySaver(), state, 't') },
      cpu,
      // A fresh thread each round keeps both sides' thread lengths alike.
    );
    await ours.close();
    rows.push(
      ratioRow({
        name: `LangGraph put + getTuple, ${size}, CheckpointableSaver over MemoryStorage`,
        value: result.subjectMs,
        unit: 'ms',
        baselineName: "LangGraph's MemorySaver",
        baseline: result.baselineMs.memory,
        ratio: result.ratio.memory,
        maxRatio: 1,
      }),
    );
  }
  const pool = new Pool({ connectionString: DATABASE_URL, max: 2, connectionTimeoutMillis: 3000 });
  try {
    await pool.query('SELECT 1');
  } catch (error) {
    await pool.end();
    const why = `PostgreSQL does not answer at ${DATABASE_URL} (${String((error as Error).message)})`;
    return [...rows, notMeasured('LangGraph put + getTuple on PostgreSQL', '<= 1x', why)];
  }
  const schema = `cp_bench_lg_${RUN}`;
  const table = `cp_bench_lg_${RUN}`;
  await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  const theirs = PostgresSaver.fromConnString(DATABASE_URL, { schema });
  await theirs.setup();
  const ours = new CheckpointableSaver(
    await PostgresStorage.open({ connectionString: DATABASE_URL, table }),
  );
  try {
    for (const bytes of [1_000, 118_000]) {
      const state = stateOf(bytes);
      const size = `${Math.round(JSON.stringify(state).length / 1000)} KB state`;
      const result = await compare(
        putThenGet(ours, state, `t-${bytes}`),
        { postgres: putThenGet(theirs, state, `t-${bytes}`) },
        io,
      );
      rows.push(
        ratioRow({
          name: `LangGraph put + getTuple, ${size}, CheckpointableSaver over PostgresStorage`,
          value: result.subjectMs,
          unit: 'ms',
          baselineName: "LangGraph's PostgresSaver",
          baseline: result.baselineMs.postgres,
          ratio: result.ratio.postgres,
          maxRatio: 1,
        }),
      );
    }
  } finally {
    await ours.close();
    await theirs.end();
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    for (const t of [`${table}_values`, table]) await pool.query(`DROP TABLE IF EXISTS ${t}`);
    await pool.end();
  }
  return rows;
}
