import { Bench } from 'tinybench';

/**
 * The measuring discipline of every benchmark here: a subject and its baseline run in the
 * same process, interleaved (both inside each round, in alternating order), for several
 * rounds; each round gives one ratio, and the figure reported is the median of those
 * ratios. A neighbour's compile job slows both sides of a round alike, so the ratio stays
 * meaningful on a shared, noisy machine where absolute times do not.
 */

/** How long to measure. */
export interface Budget {
  /** Number of interleaved rounds; the median of their ratios is reported. */
  rounds: number;
  /** Milliseconds each task gets per round (tinybench `time`). */
  time: number;
  /** Minimum iterations per task per round (tinybench `iterations`). */
  iterations: number;
}

/** A task to time: one call is one operation. */
export type Task = () => unknown;

/** What {@link compare} measured. */
export interface Comparison {
  /** Median over rounds of the subject's median latency, in ms. */
  subjectMs: number;
  /** Median over rounds of each baseline's median latency, in ms, by name. */
  baselineMs: Record<string, number>;
  /** Median over rounds of subject / baseline, by baseline name. */
  ratio: Record<string, number>;
  /** Every round's ratio, by baseline name (for the JSON file). */
  rounds: Record<string, number[]>;
}

/** The median of `values` (which it sorts). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Times `subject` against each of `baselines`, interleaved, and returns median ratios.
 * `beforeRound` / `afterRound` run outside the timing (for example to empty a folder).
 *
 * @example
 * ```ts
 * const c = await compare(() => roundTrip(order), { json: () => jsonRoundTrip(order) }, budget);
 * console.log(c.ratio.json);
 * ```
 */
export async function compare(
  subject: Task,
  baselines: Record<string, Task>,
  budget: Budget,
  hooks: { beforeRound?: () => Promise<void> | void; afterRound?: () => Promise<void> | void } = {},
): Promise<Comparison> {
  if (!(budget.rounds >= 1))
    throw new Error(`a budget needs at least one round, not ${budget.rounds}`);
  const names = Object.keys(baselines);
  const subjectSamples: number[] = [];
  const baselineSamples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  const ratios: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < budget.rounds; round++) {
    await hooks.beforeRound?.();
    const bench = new Bench({
      time: budget.time,
      iterations: budget.iterations,
      warmupTime: Math.max(10, budget.time / 5),
      warmupIterations: Math.max(2, budget.iterations >> 2),
      throws: true,
    });
    // Alternate which side runs first, so warming caches or a slowly growing folder
    // does not favour one side.
    const order = round % 2 === 0 ? ['subject', ...names] : [...names, 'subject'];
    for (const name of order) bench.add(name, name === 'subject' ? subject : baselines[name]);
    await bench.run();
    const s = latencyOf(bench, 'subject');
    subjectSamples.push(s);
    for (const name of names) {
      const b = latencyOf(bench, name);
      baselineSamples[name].push(b);
      ratios[name].push(s / b);
    }
    await hooks.afterRound?.();
  }
  return {
    subjectMs: median(subjectSamples),
    baselineMs: Object.fromEntries(names.map((n) => [n, median(baselineSamples[n])])),
    ratio: Object.fromEntries(names.map((n) => [n, median(ratios[n])])),
    rounds: ratios,
  };
}

/**
 * Times several tasks together, interleaved, and returns each one's median latency (ms).
 * Used where the figure is a breakdown (parts of one operation) rather than a ratio.
 *
 * @example
 * ```ts
 * const ms = await timeTogether({ stringify: () => JSON.stringify(v) }, budget);
 * ```
 */
export async function timeTogether(
  tasks: Record<string, Task>,
  budget: Budget,
): Promise<Record<string, number>> {
  const names = Object.keys(tasks);
  const samples: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < budget.rounds; round++) {
    const bench = new Bench({
      time: budget.time,
      iterations: budget.iterations,
      warmupTime: Math.max(10, budget.time / 5),
      throws: true,
    });
    const order = round % 2 === 0 ? names : [...names].reverse();
    for (const name of order) bench.add(name, tasks[name]);
    await bench.run();
    for (const name of names) samples[name].push(latencyOf(bench, name));
  }
  return Object.fromEntries(names.map((n) => [n, median(samples[n])]));
}

function latencyOf(bench: Bench, name: string): number {
  const result = bench.getTask(name)?.result;
  if (result === undefined || !('latency' in result)) {
    throw new Error(`benchmark task ${name} produced no result (${result?.state ?? 'missing'})`);
  }
  return result.latency.p50;
}
