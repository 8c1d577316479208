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
  const guarded = await measure(megabytes, rounds, 'guarded');
  const raw = await measure(megabytes, rounds, 'raw');
  const MB = 1024 * 1024;
  return [
    row(`${megabytes} MiB value put, committed, read back: peak RSS`, guarded, '<= 3x'),
    row(`${megabytes} MiB value, FileStorage.openRaw (no GuardWrapper): peak RSS`, raw, '-'),
  ];

  function row(name: string, f: Figures, target: string): Row {
    return {
      name,
      value: f.peak / MB,
      unit: 'MiB',
      baselineName: 'value size',
      baseline: f.size / MB,
      ratio: f.peak / f.size,
      target,
      met: target === '-' ? null : f.peak / f.size <= 3,
      note: `whole-process peak; idle process before the value ${(f.rssBefore / MB).toFixed(0)} MiB, peak after put+commit ${(f.afterCommit / MB).toFixed(0)} MiB, net of the idle process ${((f.peak - f.rssBefore) / f.size).toFixed(2)}x`,
    };
  }
}

async function measure(
  megabytes: number,
  rounds: number,
  mode: 'guarded' | 'raw',
): Promise<Figures> {
  const samples: Figures[] = [];
  for (let i = 0; i < rounds; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'cp-bench-large-'));
    try {
      const { stdout } = await run(
        process.execPath,
        ['-r', '@swc-node/register', 'bench/children/large-value.ts', dir, String(megabytes), mode],
        { cwd: REPO_ROOT, maxBuffer: 1 << 20 },
      );
      samples.push(JSON.parse(stdout.trim()) as Figures);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return {
    size: samples[0].size,
    rssBefore: median(samples.map((s) => s.rssBefore)),
    afterCommit: median(samples.map((s) => s.afterCommit)),
    peak: median(samples.map((s) => s.peak)),
  };
}
