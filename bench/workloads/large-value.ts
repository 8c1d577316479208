import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { median } from '../harness';
import { type Row } from '../report';

const run = promisify(execFile);
const REPO_ROOT = resolve(__dirname, '../..');
const CHILD = 'bench/children/large-value.cjs';
const MB = 1024 * 1024;

interface Figures {
  size: number;
  rssBefore: number;
  afterCommit: number;
  peak: number;
}

/**
 * Peak resident set size of a process that puts, commits and reads back one value of
 * `megabytes` MiB on a durable FileStorage, as a multiple of the value's size. Measured in
 * child processes (median of `rounds`), so nothing else the benchmark did counts: on the
 * library compiled with tsc, as a service runs it (the row the target applies to; skipped by
 * `quick`, because the build takes seconds), and under `@swc-node/register`, whose compiler
 * adds ~70 MiB to the idle process (for reference only).
 */
export async function largeValueBenchmark(
  megabytes: number,
  rounds: number,
  quick: boolean,
): Promise<Row[]> {
  const rows: Row[] = [];
  if (!quick) {
    // Inside node_modules/.cache: git-ignored, and the build resolves its dependencies
    // (reflect-metadata, class-transformer) from the repository's node_modules.
    const cache = join(REPO_ROOT, 'node_modules', '.cache');
    mkdirSync(cache, { recursive: true });
    const outDir = mkdtempSync(join(cache, 'checkpointable-bench-build-'));
    try {
      await run(
        process.execPath,
        [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', outDir],
        { cwd: REPO_ROOT },
      );
      const compiled = await measure([CHILD], join(outDir, 'index.js'), megabytes, rounds);
      rows.push(
        row(
          `${megabytes} MiB value put, committed, read back: peak RSS (compiled JS)`,
          compiled,
          true,
        ),
      );
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  }
  const swc = await measure(
    ['-r', '@swc-node/register', CHILD],
    join(REPO_ROOT, 'src/index.ts'),
    megabytes,
    rounds,
  );
  rows.push(row(`${megabytes} MiB value, under @swc-node/register: peak RSS`, swc, false));
  return rows;
}

function row(name: string, f: Figures, targeted: boolean): Row {
  return {
    name,
    value: f.peak / MB,
    unit: 'MiB',
    baselineName: 'value size',
    baseline: f.size / MB,
    ratio: f.peak / f.size,
    target: targeted ? '<= 3x' : '-',
    met: targeted ? f.peak / f.size <= 3 : null,
    note: `whole-process peak; idle process before the value ${(f.rssBefore / MB).toFixed(0)} MiB, peak after put+commit ${(f.afterCommit / MB).toFixed(0)} MiB, net of the idle process ${((f.peak - f.rssBefore) / f.size).toFixed(2)}x`,
  };
}

async function measure(
  nodeArgs: string[],
  library: string,
  megabytes: number,
  rounds: number,
): Promise<Figures> {
  const samples: Figures[] = [];
  for (let i = 0; i < rounds; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'cp-bench-large-'));
    try {
      const { stdout } = await run(
        process.execPath,
        [...nodeArgs, dir, String(megabytes), library],
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
