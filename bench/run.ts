/**
 * `npm run bench` (full: writes bench/results/latest.{md,json}) and
 * `npm run bench -- --quick` (under a minute: writes the git-ignored quick.*.tmp files).
 * `--only <substring>` runs only the workloads whose group name contains it (and, like
 * --quick, writes the git-ignored .tmp files).
 *
 * `--render` rewrites latest.md from latest.json without measuring.
 *
 * Every figure is a ratio to a baseline measured in the same run, interleaved, median of
 * several rounds (see harness.ts); nothing here is a wall-clock pass/fail.
 */
import { type Budget } from './harness';
import { notMeasured, rerender, runMeta, writeResults, type Row } from './report';
import { codecBenchmarks } from './workloads/codec';
import { fileMetadataListingBenchmarks } from './workloads/file-listing';
import { fileCommitBenchmarks, fileListingBenchmark } from './workloads/file-storage';
import { largeValueBenchmark } from './workloads/large-value';
import { optionalBenchmarks } from './workloads/optional';
import { langgraphBenchmarks } from './workloads/langgraph';
import { telemetryBenchmarks } from './workloads/telemetry';
import { seriesBenchmarks } from './workloads/series';

interface Group {
  name: string;
  run: () => Promise<Row[]>;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes('--render')) {
    process.stdout.write(`bench: re-rendered ${rerender()} from latest.json\n`);
    return;
  }
  const quick = args.includes('--quick');
  const onlyAt = args.indexOf('--only');
  const only = onlyAt >= 0 ? args[onlyAt + 1] : undefined;

  // CPU-bound work gets a few long rounds. fsync- and network-bound work gets many short
  // rounds: a neighbour's fsync burst then lands in one round's pair, not on one side of
  // a long block, and the median of many round ratios shrugs it off.
  const cpu: Budget = quick
    ? { rounds: 3, time: 150, iterations: 10 }
    : { rounds: 9, time: 500, iterations: 20 };
  const io: Budget = quick
    ? { rounds: 5, time: 60, iterations: 3 }
    : { rounds: 25, time: 120, iterations: 5 };

  const groups: Group[] = [
    { name: 'codec', run: () => codecBenchmarks(cpu) },
    { name: 'file-commit', run: () => fileCommitBenchmarks(io) },
    { name: 'file-listing', run: () => fileListingBenchmark(cpu, 10_000) },
    { name: 'file-listing-metadata', run: () => fileMetadataListingBenchmarks(cpu, 10_000) },
    ...optionalBenchmarks({ cpu, io, quick }),
    { name: 'telemetry', run: () => telemetryBenchmarks({ cpu, io }) },
    { name: 'langgraph', run: () => langgraphBenchmarks({ cpu, io }) },
    { name: 'series', run: () => seriesBenchmarks({ cpu, io, quick }) },
    { name: 'large-value', run: () => largeValueBenchmark(100, quick ? 1 : 3, quick) },
  ];

  const rows: Row[] = [];
  const started = Date.now();
  for (const group of groups) {
    if (only !== undefined && !group.name.includes(only)) continue;
    const t0 = Date.now();
    process.stdout.write(`bench: ${group.name} ... `);
    try {
      const groupRows = await group.run();
      rows.push(...groupRows);
      process.stdout.write(`${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
      for (const r of groupRows) {
        const ratio = r.ratio === null ? '' : ` ratio ${r.ratio.toFixed(2)}x`;
        const met = r.met === null ? '' : r.met ? ' (met)' : ' (MISSED)';
        const value = r.value === null ? (r.note ?? '') : `${r.value.toPrecision(4)} ${r.unit}`;
        process.stdout.write(`  ${r.name}: ${value}${ratio} target ${r.target}${met}\n`);
      }
    } catch (error) {
      process.stdout.write('failed\n');
      process.stderr.write(`${String((error as Error)?.stack ?? error)}\n`);
      rows.push(
        notMeasured(
          group.name,
          '-',
          `the workload failed: ${String((error as Error)?.message ?? error)}`,
        ),
      );
    }
  }
  const meta = runMeta(quick);
  meta.duration = `${((Date.now() - started) / 1000).toFixed(0)} s`;
  // A partial run (--only) must not overwrite the committed full results.
  const files = writeResults(rows, meta, quick || only !== undefined);
  process.stdout.write(`bench: done in ${meta.duration}; wrote ${files.join(', ')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${String((error as Error)?.stack ?? error)}\n`);
  process.exit(1);
});
