import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CheckpointManager, FileStorage, type Storage } from 'checkpointable';
import { PostgresStorage } from 'checkpointable/postgres';
import { RedisStorage } from 'checkpointable/redis';
import { DATABASE_URL, postgresAnswers, TestTables } from '../postgres/postgres-server';
import { REDIS_URL, redisAnswers, TestPrefixes } from '../redis/redis-server';
import { startChild } from '../storage/child-process';

const WRITERS = 4;
const ROUNDS = 12;
const tables = new TestTables();
const prefixes = new TestPrefixes();
afterAll(async () => {
  await tables.dropAll();
  await prefixes.dropAll();
});

interface Outcome {
  round: number;
  won: boolean;
  sequence?: number;
  kind?: string;
  message?: string;
}

/**
 * Runs WRITERS real processes for ROUNDS rounds; in each round they all restore the same
 * latest checkpoint, then save at once. Returns each round's outcomes.
 */
async function race(backend: string, place: string, url: string): Promise<Outcome[][]> {
  const children = Array.from({ length: WRITERS }, (_, w) =>
    startChild('test/fixtures/series/series-writer.ts', [
      backend,
      place,
      url,
      String(w),
      String(ROUNDS),
    ]),
  );
  const rounds: Outcome[][] = [];
  for (let round = 0; round < ROUNDS; round++) {
    await Promise.all(children.map((c) => c.waitFor((line) => line === `ready ${round}`)));
    for (const c of children) c.process.stdin!.write('go\n');
    const lines = await Promise.all(
      children.map((c) => c.waitFor((line) => line.startsWith(`{"round":${round},`))),
    );
    rounds.push(lines.map((line) => JSON.parse(line) as Outcome));
  }
  expect(await Promise.all(children.map((c) => c.exited))).toEqual(Array(WRITERS).fill(0));
  return rounds;
}

async function check(rounds: Outcome[][], storage: Storage): Promise<void> {
  const manager = new CheckpointManager(storage);
  try {
    rounds.forEach((outcomes, round) => {
      const winners = outcomes.filter((o) => o.won);
      expect(winners, `round ${round}: exactly one winner`).toHaveLength(1);
      expect(winners[0]!.sequence).toBe(round + 1);
      for (const lost of outcomes.filter((o) => !o.won)) {
        expect(lost.kind).toBe('Conflict');
        expect(lost.message).toContain(
          round === 0
            ? 'this handle saw it empty, but sequence 1 is now the latest'
            : `this handle started from sequence ${round}, but sequence ${round + 1} is now the latest`,
        );
      }
    });
    const series = manager.series('contested');
    const history = await series.history();
    expect(history.map((h) => h.sequence)).toEqual(
      Array.from({ length: ROUNDS }, (_, i) => ROUNDS - i),
    );
    // Every checkpoint holds what its round's one winner saved: no torn or mixed write.
    for (const { identifier, sequence } of history) {
      const value = (await manager.restore(identifier, 'value')) as { who: number; round: number };
      expect(value.round).toBe(sequence - 1);
    }
  } finally {
    await manager.close();
  }
}

describe('series across real processes: one winner per sequence number', () => {
  it('on FileStorage', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'cp-series-race-'));
    const rounds = await race('file', folder, '-');
    await check(rounds, await FileStorage.open(folder));
  });

  it.runIf(postgresAnswers())('on PostgresStorage', async () => {
    const table = tables.next();
    const rounds = await race('postgres', table, DATABASE_URL);
    await check(rounds, await PostgresStorage.open({ connectionString: DATABASE_URL, table }));
  });

  it.runIf(redisAnswers())('on RedisStorage', async () => {
    const prefix = prefixes.next();
    const rounds = await race('redis', prefix, REDIS_URL);
    await check(rounds, await RedisStorage.open({ url: REDIS_URL, prefix }));
  });
});
