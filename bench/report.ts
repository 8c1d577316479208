import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';

/** One line of the results: a measured figure, its baseline and the target it answers to. */
export interface Row {
  /** What was measured, e.g. `codec round trip, 120 KB order`. */
  name: string;
  /** The subject's figure, in `unit`; `null` when it was not measured. */
  value: number | null;
  /** `ms`, `MB`, `commits/s`, ... */
  unit: string;
  /** What the subject was compared with, measured in the same run. */
  baselineName: string;
  /** The baseline's figure, in `unit`; `null` when there is none. */
  baseline: number | null;
  /** value / baseline as the target reads it (median of per-round ratios); `null` if none. */
  ratio: number | null;
  /** The target in words, e.g. `<= 1.5x`; `-` for information only. */
  target: string;
  /** Whether the target is met; `null` for information-only rows and unmeasured ones. */
  met: boolean | null;
  /** Why a row was not measured, or what the figure means. */
  note?: string;
}

/** A row whose target is an upper bound on the ratio. */
export function ratioRow(
  fields: Omit<Row, 'target' | 'met'> & { maxRatio: number | null; targetText?: string },
): Row {
  const { maxRatio, targetText, ...rest } = fields;
  return {
    ...rest,
    target: targetText ?? (maxRatio === null ? '-' : `<= ${maxRatio}x`),
    met: maxRatio === null || rest.ratio === null ? null : rest.ratio <= maxRatio,
  };
}

/** A row for a workload that could not run (its component has not landed, no server...). */
export function notMeasured(name: string, target: string, why: string): Row {
  return {
    name,
    value: null,
    unit: '-',
    baselineName: '-',
    baseline: null,
    ratio: null,
    target,
    met: null,
    note: `not measured: ${why}`,
  };
}

function fmt(n: number | null, digits = 3): string {
  if (n === null) return '-';
  if (Math.abs(n) >= 100) return n.toFixed(0);
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toPrecision(digits);
}

/**
 * Re-renders `latest.md` from `latest.json` (after a change to the table's layout), without
 * measuring anything again.
 */
export function rerender(): string {
  const dir = join(__dirname, 'results');
  const { meta, results } = JSON.parse(readFileSync(join(dir, 'latest.json'), 'utf8')) as {
    meta: Record<string, string>;
    results: Row[];
  };
  const md = join(dir, 'latest.md');
  writeFileSync(md, markdown(results, meta) + '\n');
  return md;
}

/** The rows as the Markdown table the README shows. */
export function markdown(rows: Row[], meta: Record<string, string>): string {
  const lines = [
    '| workload | measured | baseline (same run) | ratio | target | met |',
    '|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const measured = r.value === null ? '-' : `${fmt(r.value)} ${r.unit}`;
    const base =
      r.baseline === null ? r.baselineName : `${r.baselineName}: ${fmt(r.baseline)} ${r.unit}`;
    const met =
      r.met === null
        ? r.note?.startsWith('not measured')
          ? 'not measured'
          : 'info'
        : r.met
          ? 'yes'
          : '**no**';
    // Four digits, so a ratio just over its target (1.305x against 1.3x) does not read as met.
    const ratio = r.ratio === null ? '-' : `${fmt(r.ratio, 4)}x`;
    lines.push(`| ${r.name} | ${measured} | ${base} | ${ratio} | ${r.target} | ${met} |`);
  }
  const notes = rows.filter((r) => r.note !== undefined).map((r) => `- ${r.name}: ${r.note}`);
  const header = Object.entries(meta)
    .map(([k, v]) => `${k}: ${v}`)
    .join('; ');
  return [
    `_${header}_`,
    '',
    ...lines,
    '',
    ...(notes.length ? ['Notes:', '', ...notes, ''] : []),
  ].join('\n');
}

/** Facts about the machine and run that belong next to any figure. */
export function runMeta(quick: boolean): Record<string, string> {
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpus: `${cpus().length} x ${cpus()[0]?.model ?? 'unknown'}`,
    memory: `${Math.round(totalmem() / 2 ** 30)} GiB`,
    mode: quick ? 'quick' : 'full',
  };
}

/**
 * Writes `latest.md` and `latest.json` under bench/results. A quick run writes
 * `quick.md.tmp` / `quick.json.tmp` instead (git-ignored): its figures are too rough to
 * replace the committed ones.
 */
export function writeResults(rows: Row[], meta: Record<string, string>, quick: boolean): string[] {
  const dir = join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const suffix = quick ? '.tmp' : '';
  const base = quick ? 'quick' : 'latest';
  const md = join(dir, `${base}.md${suffix}`);
  const json = join(dir, `${base}.json${suffix}`);
  writeFileSync(md, markdown(rows, meta) + '\n');
  writeFileSync(json, JSON.stringify({ meta, results: rows }, null, 2) + '\n');
  return [md, json];
}
