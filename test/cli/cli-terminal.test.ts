import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileStorage } from 'checkpointable';
import { openFileChain, saveOrders } from './cli-fixtures';
import { buildCli, ROOT, runBin, tempDir } from './cli-harness';

let bin: string;
let store: string;

beforeAll(async () => {
  bin = buildCli();
  store = tempDir('cp-cli-tty-');
  const storage = await openFileChain(store, ['checksum']);
  await saveOrders(storage, ['order-1', 'order-2', 'order-3']);
  await storage.close();
});
afterAll(() => rmSync(store, { recursive: true, force: true }));

/** Runs the bin with stdout on a pseudo-terminal (util-linux `script`), as a person would. */
function underPty(args: string[]): { status: number | null; output: string } {
  const quoted = [process.execPath, bin, ...args]
    .map((a) => `'${a.replace(/'/g, `'\\''`)}'`)
    .join(' ');
  const result = spawnSync('script', ['-qec', quoted, '/dev/null'], {
    encoding: 'utf8',
    env: { ...process.env, NODE_PATH: join(ROOT, 'node_modules'), TERM: 'xterm' },
    timeout: 60_000,
  });
  return { status: result.status, output: result.stdout };
}

describe.runIf(spawnSync('script', ['--version']).status === 0)(
  'checkpointable bin on a terminal',
  () => {
    it('draws a progress bar on a terminal, and plain lines without one', () => {
      const tty = underPty(['verify', '--storage', `file:${store}`, '--wrappers', 'checksum']);
      expect(tty.status).toBe(0);
      expect(tty.output).toContain(`verify [${'='.repeat(40)}] 3/3 order-3`);
      expect(tty.output).not.toContain('verify 1/3 order-1 ok');
      expect(tty.output).toContain('verified 3 checkpoint(s), 9 value(s)');
    });

    it('prints plain progress lines when stdout is not a terminal', async () => {
      const piped = await runBin(bin, [
        'verify',
        '--storage',
        `file:${store}`,
        '--wrappers',
        'checksum',
      ]);
      expect(piped.code).toBe(0);
      expect(piped.stdout).not.toContain('verify [');
      expect(piped.stdout.split('\n').slice(0, 3)).toEqual([
        'verify 1/3 order-1 ok',
        'verify 2/3 order-2 ok',
        'verify 3/3 order-3 ok',
      ]);
    });

    it('prints nothing but the JSON document with --json, even on a terminal', () => {
      const tty = underPty([
        'verify',
        '--storage',
        `file:${store}`,
        '--wrappers',
        'checksum',
        '--json',
      ]);
      expect(tty.status).toBe(0);
      // A terminal turns \n into \r\n.
      const report = JSON.parse(tty.output.replace(/\r\n/g, '\n')) as {
        checkpoints: number;
        failed: number;
      };
      expect(report).toMatchObject({ checkpoints: 3, failed: 0 });
      const cp = underPty([
        'cp',
        '--storage',
        `file:${store}`,
        '--wrappers',
        'checksum',
        '--to',
        `file:${store}-copy`,
        '--json',
      ]);
      rmSync(`${store}-copy`, { recursive: true, force: true });
      expect(cp.status, cp.output).toBe(0);
      expect(JSON.parse(cp.output.replace(/\r\n/g, '\n'))).toMatchObject({
        copied: ['order-1', 'order-2', 'order-3'],
      });
    });

    it('ends quietly when the reader of its output goes away (| head)', async () => {
      const storage = await FileStorage.openRaw(store);
      const draft = await storage.createCheckpoint('large');
      await draft.put('v', Buffer.alloc(4 * 1024 * 1024, 7));
      await (await storage.commitCheckpoint(draft)).release();
      await storage.close();
      const result = spawnSync(
        'bash',
        [
          '-c',
          `set -o pipefail; '${process.execPath}' '${bin}' show large v --raw --storage 'file:${store}' | head -2`,
        ],
        { encoding: 'utf8', env: { ...process.env, NODE_PATH: join(ROOT, 'node_modules') } },
      );
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      expect(result.stdout).toMatch(
        /^checkpoint {2}large\nstored at {3}\S+ \(bytes at rest, before any wrapper\)\n$/,
      );
    });
  },
);
