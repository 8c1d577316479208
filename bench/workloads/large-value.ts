import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { median } from '../harness';
import { type Row } from '../report';

const run = promisify(execFile);
const REPO_ROOT = resolve(__dirname, '../..');

interface Figures {
  size: number;
  rssBefore: number;
  afterCommit: number;
  peak: number;
}

/**
 * Peak resident set size of a process that puts, commits and reads back one value of
 * `megabytes` MiB on a durable FileStorage, as a multiple of the value's size. Measured in
 * child processes (median of `rounds`), so nothing else the benchmark did counts.
 */
export async function largeValueBenchmark(megabytes: number, rounds: number): Promise<Row[]> {
  const samples: Figures[] = [];
  for (let i = 0; i < rounds; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'cp-bench-large-'));
    try {
      const { stdout } = await run(
        process.execPath,
        ['-r', '@swc-node/register', 'bench/children/large-value.ts', dir, String(megabytes)],
        { cwd: REPO_ROOT, maxBuffer: 1 << 20 },
      );
      samples.push(JSON.parse(stdout.trim()) as Figures);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const MB = 1024 * 1024;
  const size = samples[0].size;
  const peak = median(samples.map((s) => s.peak));
  const before = median(samples.map((s) => s.rssBefore));
  const afterCommit = median(samples.map((s) => s.afterCommit));
  return [
    {
      name: `${megabytes} MiB value put, committed, read back: peak RSS`,
      value: peak / MB,
      unit: 'MiB',
      baselineName: 'value size',
      baseline: size / MB,
      ratio: peak / size,
      target: '<= 3x',
      met: peak / size <= 3,
      note: `whole-process peak; the idle process before allocating the value was ${(before / MB).toFixed(0)} MiB, peak after put+commit ${(afterCommit / MB).toFixed(0)} MiB`,
    },
  ];
}
