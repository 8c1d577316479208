import { Command } from 'commander';
import { CheckFailed } from './cli-error';
import type { CheckpointSummary } from './checkpoint-origin';
import {
  context,
  failureLine,
  failureOf,
  formatBytes,
  withStore,
  type Failure,
} from './command-context';
import type { OpenStore } from './open-store';
import { shownName } from './output';
import { parseSeriesIdentifier } from '../manager/series-identifier';
import { ignoreNotFound, listedIdentifiers, summaryOf } from './listed-checkpoints';
import { parseCount, parseMoment } from './time-spec';

/**
 * One row of `ls`.
 * @example
 * ```ts
 * const row: ListedCheckpoint = { ...summary, bytes: 1024 };
 * ```
 */
export interface ListedCheckpoint extends CheckpointSummary {
  /** Bytes at rest, every value (and the manifest) as the storage holds it; null with `--no-sizes`. */
  bytes: number | null;
}

/**
 * `checkpointable ls`: the committed checkpoints, oldest first, with their creation time,
 * keys, classes with versions and size at rest.
 *
 * @example
 * ```ts
 * program.addCommand(lsCommand());
 * ```
 */
export function lsCommand(): Command {
  return new Command('ls')
    .description('list checkpoints: identifier, creation time, keys, classes with versions, size')
    .option('--series <name>', 'only the checkpoints of this series (@series:<name>:<sequence>)')
    .option('--before <time>', 'only those created before a date or an age (2026-11-30, 7d)')
    .option('--limit <n>', 'only the newest n (of those selected), still listed oldest first')
    .option('--no-sizes', 'skip the sizes, which read every stored value (faster on a large store)')
    .addHelpText(
      'after',
      `
Examples:
  $ checkpointable ls --storage file:./var/checkpoints
  $ CHECKPOINT_STORAGE=postgres://app@db/app checkpointable ls --series orders --limit 5
  $ checkpointable ls --before 7d --json | jq -r '.[].identifier'`,
    )
    .action(async (_options: unknown, command: Command) => {
      const { options, out } = context(command);
      const local = command.opts<{
        series?: string;
        before?: string;
        limit?: string;
        sizes: boolean;
      }>();
      const before = local.before === undefined ? undefined : parseMoment(local.before, '--before');
      const limit = local.limit === undefined ? undefined : parseCount(local.limit, '--limit', 1);
      await withStore(options, async (store) => {
        const ids = await listedIdentifiers(store.storage, local.series);
        const rows: ListedCheckpoint[] = [];
        const failures: Failure[] = [];
        for (const id of ids) {
          try {
            const row = await listOne(store, id, local.sizes);
            if (row !== undefined) rows.push(row);
          } catch (error) {
            failures.push(failureOf(error, id));
          }
        }
        let shown = rows
          .filter((r) => before === undefined || r.createdAt.getTime() < before.getTime())
          .sort(
            (a, b) =>
              a.createdAt.getTime() - b.createdAt.getTime() ||
              (a.identifier < b.identifier ? -1 : a.identifier > b.identifier ? 1 : 0),
          );
        if (limit !== undefined) shown = shown.slice(-limit);
        if (out.json) {
          out.data({
            checkpoints: shown.map((r) => ({
              identifier: r.identifier,
              createdAt: r.createdAt.toISOString(),
              storedAt: r.storedAt.toISOString(),
              copied: r.copied,
              keys: r.keys,
              classes: r.classes,
              bytes: r.bytes,
              series: parseSeriesIdentifier(r.identifier) ?? null,
            })),
            failures,
          });
        } else {
          printTable(out.line.bind(out), shown);
          for (const failure of failures) out.line(failureLine(failure, shownName));
        }
        if (failures.length > 0) {
          throw new CheckFailed(
            `${failures.length} checkpoint(s) could not be read; run \`checkpointable verify\` for the details.`,
          );
        }
      });
    });
}

/** One checkpoint's row, or undefined when it was removed meanwhile. */
async function listOne(
  store: OpenStore,
  id: string,
  sizes: boolean,
): Promise<ListedCheckpoint | undefined> {
  const summary = await summaryOf(store.storage, id);
  if (summary === undefined) return undefined;
  if (!sizes) return { ...summary, bytes: null };
  // Sizes at rest come from the bare storage: no wrapper has to check or decrypt for them.
  const raw = await store.bare.loadCheckpoint(id).catch(ignoreNotFound);
  if (raw === undefined) return undefined;
  let bytes = 0;
  try {
    for (const key of await raw.keys()) bytes += (await raw.getBytes(key)).byteLength;
  } finally {
    await raw.release();
  }
  return { ...summary, bytes };
}

function printTable(line: (text: string) => void, rows: ListedCheckpoint[]): void {
  const table = rows.map((r) => [
    shownName(r.identifier),
    r.createdAt.toISOString() + (r.copied ? ' (copied)' : ''),
    r.bytes === null ? '-' : formatBytes(r.bytes),
    r.classes.map((c) => `${shownName(c.name)}@${c.version}`).join(',') || '-',
    shortList(r.keys.map(shownName)),
  ]);
  const header = ['IDENTIFIER', 'CREATED', 'SIZE', 'CLASSES', 'KEYS'];
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
  for (const row of [header, ...table]) {
    line(
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i])))
        .join('  ')
        .trimEnd(),
    );
  }
  line(`${rows.length} checkpoint(s)`);
}

/** Keys joined, cut after 80 characters with the count of the rest (`--json` has them all). */
function shortList(keys: string[]): string {
  let text = '';
  for (const [i, key] of keys.entries()) {
    const next = text === '' ? key : `${text},${key}`;
    if (next.length > 80) return `${text},... (+${keys.length - i} more)`;
    text = next;
  }
  return text || '-';
}
