import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FileStorage } from 'checkpointable';
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
        leftovers += readdirSync(join(dir, 'staging')).length;
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
