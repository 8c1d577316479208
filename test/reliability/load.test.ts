import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresAnswers, TestTables } from '../postgres/postgres-server';
import { redisAnswers, TestPrefixes } from '../redis/redis-server';
import { openBackend, type BackendName } from '../fixtures/reliability/backends';
import { spawnTypeScript, type TypeScriptChild } from '../fixtures/reliability/child-process';
import {
  checkWhole,
  contestedIdentifier,
  ownIdentifier,
} from '../fixtures/reliability/load-worker';

const STRESS = process.env.STRESS === '1';
/** 8 processes, each one writer and one reader on separate storage objects. */
const WORKERS = 8;
const OWN = STRESS ? 100 : 10;
const CONTESTED = STRESS ? 50 : 5;
const FIXTURE = 'test/fixtures/reliability/load-worker.ts';
/** Not a speed limit: only a guard against a hung worker, sized for the stress run. */
const HANG_GUARD_MS = STRESS ? 3600_000 : 600_000;

interface CommitLine {
  op: 'commit';
  id: string;
  won: boolean;
  kind?: string;
}
interface ReadsLine {
  op: 'reads';
  checked: number;
  torn: string[];
}

const root = mkdtempSync(join(tmpdir(), 'cp-load-'));
const tables = new TestTables();
const prefixes = new TestPrefixes();
afterAll(async () => {
  rmSync(root, { recursive: true, force: true });
  await tables.dropAll();
  await prefixes.dropAll();
});

const BACKENDS: [BackendName, () => boolean, () => string][] = [
  ['file', () => true, () => join(root, 'store')],
  ['postgres', postgresAnswers, () => tables.next()],
  ['redis', redisAnswers, () => prefixes.next()],
];

for (const [backend, available, place] of BACKENDS) {
  describe.runIf(available())(
    `load: ${WORKERS} writer and ${WORKERS} reader processes on one ${backend} store`,
    () => {
      it(
        `loses nothing, tears nothing, and gives each contested identifier one winner`,
        async () => {
          const where = place();
          const children: TypeScriptChild[] = [];
          for (let w = 0; w < WORKERS; w++) {
            children.push(
              spawnTypeScript(
                FIXTURE,
                [backend, where, String(w), String(OWN), String(CONTESTED)],
                {
                  stdin: true,
                },
              ),
            );
          }
          // Started together: every process has opened its storages before any writes.
          await Promise.all(children.map((c) => c.waitForLine((l) => l === 'ready')));
          for (const c of children) c.process.stdin?.end('go\n');
          const exits = await Promise.all(children.map((c) => c.exited));
          exits.forEach((e, w) =>
            expect(e.code, `worker ${w} stderr:\n${children[w].stderr()}`).toBe(0),
          );

          const commits: (CommitLine & { worker: number })[] = [];
          let readsChecked = 0;
          const torn: string[] = [];
          children.forEach((c, worker) => {
            for (const line of c.lines) {
              if (!line.startsWith('{')) continue;
              const parsed = JSON.parse(line) as CommitLine | ReadsLine;
              if (parsed.op === 'commit') commits.push({ ...parsed, worker });
              else {
                readsChecked += parsed.checked;
                torn.push(...parsed.torn);
              }
            }
          });

          const storage = await openBackend(backend, where, false);
          try {
            const listed = new Set(await storage.checkpointIdentifiers());
            let lost = 0;
            let tornAtEnd = 0;
            for (let w = 0; w < WORKERS; w++) {
              for (let i = 0; i < OWN; i++) {
                const id = ownIdentifier(w, i);
                expect(commits.find((c) => c.id === id && c.worker === w)?.won, id).toBe(true);
                if (!listed.has(id)) lost++;
                else if ((await checkWhole(storage, id)) !== undefined) tornAtEnd++;
              }
            }
            const winners: number[] = [];
            for (let i = 0; i < CONTESTED; i++) {
              const id = contestedIdentifier(i);
              const attempts = commits.filter((c) => c.id === id);
              expect(attempts).toHaveLength(WORKERS);
              const won = attempts.filter((c) => c.won);
              expect(won, `${id} winners`).toHaveLength(1);
              // Every loser was told why: the identifier was taken, nothing else went wrong.
              expect(new Set(attempts.filter((c) => !c.won).map((c) => c.kind))).toEqual(
                new Set(['AlreadyExists']),
              );
              expect(await checkWhole(storage, id)).toBe(`winner:${won[0].worker}`);
              winners.push(won[0].worker);
            }
            expect(listed.size).toBe(WORKERS * OWN + CONTESTED);
            console.log(
              `load ${backend}: writers=${WORKERS} readers=${WORKERS} commits=${commits.filter((c) => c.won).length} ` +
                `contested=${CONTESTED} (winners ${winners.join(',')}) lost=${lost} torn=${torn.length + tornAtEnd} ` +
                `reads-checked=${readsChecked}`,
            );
            expect(torn).toEqual([]);
            expect({ lost, tornAtEnd }).toEqual({ lost: 0, tornAtEnd: 0 });
            // The readers must have raced the writers, or "nothing torn" says nothing.
            expect(readsChecked).toBeGreaterThan(WORKERS);
          } finally {
            await storage.close();
          }
        },
        HANG_GUARD_MS,
      );
    },
  );
}
