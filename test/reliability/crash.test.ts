import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CheckpointError, FileStorage, type Storage } from 'checkpointable';
import { afterAll, describe, expect, it } from 'vitest';
import { seededRandom, spawnTypeScript } from '../fixtures/reliability/child-process';
import { crashKeys, crashValue } from '../fixtures/reliability/crash-workload';
import { exactMismatch } from '../fixtures/reliability/exact';

// npm test proves the property on a modest sample; `npm run stress` on a large one.
const STRESS = process.env.STRESS === '1';
const KILLS = STRESS ? 1000 : 50;
const SEED = Number(process.env.CRASH_SEED ?? Date.now() % 1_000_000);
/** Kills land anywhere from right after open to several commits in. */
const MAX_DELAY_MS = 100;
const FIXTURE = 'test/fixtures/reliability/commit-loop.ts';
/** Not a speed limit: only a guard against a hung child, sized for the stress run. */
const HANG_GUARD_MS = STRESS ? 4 * 3600_000 : 600_000;
const ID = /^run-(\d+)-cp-(\d+)$/;

const root = mkdtempSync(join(tmpdir(), 'cp-crash-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('crash: a child committing to a durable FileStorage is SIGKILLed at random instants', () => {
  it(
    `keeps every acknowledged checkpoint, whole, across ${KILLS} kills (seed ${SEED})`,
    async () => {
      const dir = join(root, 'store');
      const random = seededRandom(SEED);
      const acked = new Set<string>();
      const removing = new Set<string>();
      const removed = new Set<string>();
      const verified = new Set<string>();
      const problems: string[] = [];
      let torn = 0;
      let lost = 0;
      let resurrected = 0;
      let stray = 0;
      let leftovers = 0;

      for (let run = 0; run < KILLS; run++) {
        const child = spawnTypeScript(FIXTURE, [dir, String(run)]);
        await child.waitForLine((line) => line === 'ready');
        await sleep(Math.floor(random() * MAX_DELAY_MS));
        child.process.kill('SIGKILL');
        const { signal } = await child.exited;
        // A child that died on its own (an error) is a failure of its own, not a kill.
        expect(signal, `run ${run} stderr:\n${child.stderr()}`).toBe('SIGKILL');
        for (const line of child.lines) {
          const [verb, identifier] = line.split(' ');
          if (verb === 'ack') acked.add(identifier);
          else if (verb === 'removing') removing.add(identifier);
          else if (verb === 'removed') removed.add(identifier);
        }

        // What a restarted service does: open the folder and trust what it lists.
        const storage = await FileStorage.open(dir);
        try {
          const listed = await storage.checkpointIdentifiers();
          const listedSet = new Set(listed);
          for (const identifier of listed) {
            if (!ID.test(identifier)) {
              stray++;
              problems.push(`run ${run}: unexpected identifier ${identifier}`);
              continue;
            }
            if (removed.has(identifier)) {
              resurrected++;
              problems.push(`run ${run}: ${identifier} was removed but is listed again`);
            }
            if (verified.has(identifier)) continue;
            const problem = await wholeCheckpointProblem(storage, identifier);
            if (problem !== undefined) {
              torn++;
              problems.push(`run ${run}: ${identifier} is torn: ${problem}`);
            }
            verified.add(identifier);
          }
          for (const identifier of acked) {
            if (!listedSet.has(identifier) && !removing.has(identifier)) {
              lost++;
              problems.push(`run ${run}: acknowledged ${identifier} is missing`);
              acked.delete(identifier); // count each loss once
            }
          }
          // A listed checkpoint stays readable: re-read one older one each round in full.
          const older = listed.filter((id) => verified.has(id) && !removing.has(id));
          if (older.length > 0) {
            const pick = older[Math.floor(random() * older.length)];
            const problem = await wholeCheckpointProblem(storage, pick);
            if (problem !== undefined) {
              torn++;
              problems.push(`run ${run}: ${pick} no longer reads back: ${problem}`);
            }
          }
        } finally {
          await storage.close();
        }
        // Opening swept the dead child's staging files.
        leftovers += stagingLeftovers(dir);
      }

      const last = await FileStorage.open(dir);
      const listedAtEnd = (await last.checkpointIdentifiers()).length;
      await last.close();
      console.log(
        `crash: kills=${KILLS} acknowledged=${acked.size + lost} torn=${torn} lost=${lost} ` +
          `resurrected=${resurrected} removals-acknowledged=${removed.size} ` +
          `checkpoints-verified=${verified.size} listed-at-end=${listedAtEnd} seed=${SEED}`,
      );
      expect(problems.slice(0, 20)).toEqual([]);
      expect({ torn, lost, resurrected, stray, leftovers }).toEqual({
        torn: 0,
        lost: 0,
        resurrected: 0,
        stray: 0,
        leftovers: 0,
      });
      // The schedule must actually have exercised commits, or the zeros above mean nothing.
      expect(acked.size).toBeGreaterThan(KILLS / 2);
    },
    HANG_GUARD_MS,
  );
});

/** Why checkpoint `identifier` is not exactly what the child put, or undefined when it is. */
async function wholeCheckpointProblem(
  storage: Awaited<ReturnType<typeof FileStorage.open>>,
  identifier: string,
): Promise<string | undefined> {
  let checkpoint;
  try {
    checkpoint = await storage.loadCheckpoint(identifier);
  } catch (error) {
    return `it is listed but does not load: ${String(error)}`;
  }
  try {
    const expectedKeys = crashKeys(identifier);
    const keys = await checkpoint.keys();
    if (keys.join(',') !== expectedKeys.join(',')) {
      return `keys [${keys.join(', ')}] instead of [${expectedKeys.join(', ')}]`;
    }
    for (const key of keys) {
      let value: unknown;
      try {
        value = await checkpoint.get(key);
      } catch (error) {
        return `key ${key} does not read: ${String(error)}`;
      }
      const mismatch = exactMismatch(value, crashValue(identifier, key));
      if (mismatch !== undefined) return `key ${key}: ${mismatch}`;
    }
    return undefined;
  } finally {
    await checkpoint.release();
  }
}

// Several writers at once: npm test runs a modest sample, `npm run stress` 1,000 kills.
const MULTI_KILLS = STRESS ? 1000 : 24;
const WRITERS = 3;
const MULTI_FIXTURE = 'test/fixtures/reliability/multi-writer-loop.ts';
/** A kill lands this long (at most) after the victim said it was ready. */
const MULTI_MAX_DELAY_MS = 300;

describe('crash: three writers commit, contest and remove in one folder while being SIGKILLed', () => {
  it(
    `loses, tears, resurrects and double-awards nothing across ${MULTI_KILLS} kills (seed ${SEED})`,
    async () => {
      const dir = join(root, 'multi');
      const random = seededRandom(SEED + 1);
      /** Own checkpoints acknowledged by dead writers and not being removed: must be whole. */
      const mustExist = new Set<string>();
      const removed = new Set<string>();
      const winners = new Map<string, string[]>();
      const verified = new Set<string>();
      const problems: string[] = [];
      const counts = { torn: 0, lost: 0, resurrected: 0, doubleWinners: 0, beaten: 0, acked: 0 };
      let generation = 0;

      const spawnWriter = (slot: number) => {
        const tag = `w${slot}-g${generation++}`;
        return { tag, child: spawnTypeScript(MULTI_FIXTURE, [dir, tag]) };
      };
      // The store exists before the writers race to open it (that race has its own test).
      await (await FileStorage.open(dir)).close();
      const writers = Array.from({ length: WRITERS }, (_, slot) => spawnWriter(slot));
      const reader = await FileStorage.open(dir);

      /** Takes in everything a dead writer printed. */
      const settle = ({ tag, child }: (typeof writers)[number]) => {
        const removing = new Set<string>();
        for (const line of child.lines) {
          const [verb, identifier] = line.split(' ');
          if (verb === 'removing') removing.add(identifier);
          else if (verb === 'removed') removed.add(identifier);
          else if (verb === 'beaten') counts.beaten++;
          else if (verb === 'won')
            winners.set(identifier, [...(winners.get(identifier) ?? []), tag]);
        }
        for (const line of child.lines) {
          const [verb, identifier] = line.split(' ');
          if (verb === 'ack') counts.acked++;
          if ((verb === 'ack' || verb === 'won') && !removing.has(identifier)) {
            mustExist.add(identifier);
          }
        }
      };

      /** What the reader sees now, checked against what dead writers were told. */
      const check = async (storage: Storage, when: string) => {
        const listed = new Set(await storage.checkpointIdentifiers());
        for (const identifier of listed) {
          if (removed.has(identifier)) {
            counts.resurrected++;
            problems.push(`${when}: ${identifier} was removed but is listed again`);
          }
          if (verified.has(identifier)) continue;
          const problem = await multiWriterProblem(storage, identifier, winners);
          // A live writer may remove its checkpoint between the listing and the load.
          if (problem === 'gone' && !mustExist.has(identifier)) continue;
          if (problem !== undefined) {
            counts.torn++;
            problems.push(`${when}: ${identifier} is torn: ${problem}`);
          }
          verified.add(identifier);
        }
        for (const identifier of mustExist) {
          if (!listed.has(identifier)) {
            counts.lost++;
            problems.push(`${when}: acknowledged ${identifier} is missing`);
            mustExist.delete(identifier); // count each loss once
          }
        }
        for (const [identifier, tags] of winners) {
          if (tags.length > 1) {
            counts.doubleWinners++;
            problems.push(`${when}: ${identifier} was won by ${tags.join(' and ')}`);
            winners.set(identifier, tags.slice(0, 1));
          }
        }
      };

      try {
        for (let kill = 0; kill < MULTI_KILLS; kill++) {
          const slot = Math.floor(random() * WRITERS);
          const victim = writers[slot];
          await victim.child.waitForLine((line) => line === 'ready');
          await sleep(Math.floor(random() * MULTI_MAX_DELAY_MS));
          victim.child.process.kill('SIGKILL');
          const { signal } = await victim.child.exited;
          expect(signal, `${victim.tag} stderr:\n${victim.child.stderr()}`).toBe('SIGKILL');
          settle(victim);
          writers[slot] = spawnWriter(slot);
          await check(reader, `kill ${kill} (${victim.tag})`);
        }
      } finally {
        for (const writer of writers) writer.child.process.kill('SIGKILL');
        for (const writer of writers) {
          await writer.child.exited;
          settle(writer);
        }
        await reader.close();
      }
      const last = await FileStorage.open(dir);
      try {
        await check(last, 'after the last kill');
      } finally {
        await last.close();
      }
      const reopened = await FileStorage.open(dir);
      await reopened.close();
      const leftovers = stagingLeftovers(dir);
      console.log(
        `multi-writer crash: kills=${MULTI_KILLS} writers=${WRITERS} acknowledged=${counts.acked} ` +
          `shared-won=${winners.size} shared-beaten=${counts.beaten} removals=${removed.size} ` +
          `torn=${counts.torn} lost=${counts.lost} resurrected=${counts.resurrected} ` +
          `double-winners=${counts.doubleWinners} seed=${SEED}`,
      );
      expect(problems.slice(0, 20)).toEqual([]);
      expect({ ...counts, leftovers }).toMatchObject({
        torn: 0,
        lost: 0,
        resurrected: 0,
        doubleWinners: 0,
        leftovers: 0,
      });
      // The zeros mean something only if the writers did commit, contest and remove.
      expect(counts.acked).toBeGreaterThan(MULTI_KILLS);
      expect(winners.size).toBeGreaterThan(0);
      expect(counts.beaten).toBeGreaterThan(0);
      expect(removed.size).toBeGreaterThan(0);
    },
    HANG_GUARD_MS,
  );
});

/**
 * Why `identifier` is not what its writer put, `'gone'` when it no longer loads as
 * NotFound, or undefined when it is whole. A shared checkpoint must hold its winner's tag.
 */
async function multiWriterProblem(
  storage: Storage,
  identifier: string,
  winners: ReadonlyMap<string, string[]>,
): Promise<string | undefined> {
  if (!/^(own-w\d+-g\d+-\d+|shared-\d+)$/.test(identifier))
    return 'not an identifier a writer uses';
  let checkpoint;
  try {
    checkpoint = await storage.loadCheckpoint(identifier);
  } catch (error) {
    return CheckpointError.is(error, 'NotFound') ? 'gone' : `it does not load: ${String(error)}`;
  }
  try {
    const shared = identifier.startsWith('shared-');
    const expectedKeys = crashKeys(identifier);
    const keys = (await checkpoint.keys()).filter((key) => !(shared && key === 'writer'));
    if (keys.join(',') !== expectedKeys.join(',')) {
      return `keys [${keys.join(', ')}] instead of [${expectedKeys.join(', ')}]`;
    }
    for (const key of keys) {
      const mismatch = exactMismatch(await checkpoint.get(key), crashValue(identifier, key));
      if (mismatch !== undefined) return `key ${key}: ${mismatch}`;
    }
    if (shared) {
      const writer = await checkpoint.get('writer');
      const winner = winners.get(identifier)?.[0];
      if (winner !== undefined && writer !== winner) {
        return `it holds ${String(writer)}'s commit, but ${winner} was told it won`;
      }
    }
    return undefined;
  } catch (error) {
    return `it does not read: ${String(error)}`;
  } finally {
    await checkpoint.release();
  }
}

/** Staging files left in a store: hidden names in committed/, and files in staging/. */
function stagingLeftovers(dir: string): number {
  const hidden = readdirSync(join(dir, 'committed')).filter((name) => name.startsWith('.'));
  return hidden.length + readdirSync(join(dir, 'staging')).length;
}
