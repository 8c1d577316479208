import { Command } from 'commander';
import { CheckpointError } from '../errors';
import { CheckFailed, UsageError } from './cli-error';
import type { CheckpointSummary } from './checkpoint-origin';
import { context, failureLine, failureOf, withStore, type Failure } from './command-context';
import { shownName } from './output';
import { listedIdentifiers, summaryOf } from './listed-checkpoints';
import { parseCount, parseMoment } from './time-spec';

/**
 * `checkpointable prune`: removes old checkpoints by the rules of
 * `CheckpointManager.prune` (keep the newest `--keep-last`; remove only those created
 * before `--older-than`; a checkpoint is removed when no rule keeps it), applied to the
 * original creation times (a copied checkpoint keeps its age, see checkpoint-origin.ts)
 * and optionally within one series, with a dry run. The manager's own `prune` orders by
 * the time each storage committed, and sees every checkpoint at once, so the bin applies
 * the rules itself. A checkpoint that cannot be read cannot be placed in time: it is
 * kept and reported, and the exit code is 1.
 *
 * @example
 * ```ts
 * program.addCommand(pruneCommand());
 * ```
 */
export function pruneCommand(): Command {
  return new Command('prune')
    .description('remove old checkpoints: keep the newest N and/or those younger than an age')
    .option('--keep-last <n>', 'keep the newest n checkpoints (of the series, with --series)')
    .option(
      '--older-than <age>',
      'remove only checkpoints created before this age or date (7d, 2026-11-01)',
    )
    .option('--series <name>', 'only the checkpoints of this series (@series:<name>:<sequence>)')
    .option('--dry-run', 'print what would be removed, remove nothing')
    .addHelpText(
      'after',
      `
A checkpoint is removed when no rule keeps it: it is not among the newest --keep-last,
and (with --older-than) it was created before that moment.

Examples:
  $ checkpointable prune --keep-last 10 --dry-run
  $ checkpointable prune --keep-last 3 --older-than 7d --series orders
  $ checkpointable prune --older-than 2026-11-01 --json`,
    )
    .action(async (_local: unknown, command: Command) => {
      const { options, out } = context(command);
      const local = command.opts<{
        keepLast?: string;
        olderThan?: string;
        series?: string;
        dryRun?: boolean;
      }>();
      if (local.keepLast === undefined && local.olderThan === undefined) {
        throw new UsageError(
          'prune needs --keep-last <n>, --older-than <age> or both; it removes nothing without a rule.',
        );
      }
      const keepLast = local.keepLast === undefined ? 0 : parseCount(local.keepLast, '--keep-last');
      const cutoff =
        local.olderThan === undefined ? undefined : parseMoment(local.olderThan, '--older-than');
      const dryRun = local.dryRun === true;
      await withStore(options, async (store) => {
        const ids = await listedIdentifiers(store.storage, local.series);
        const known: CheckpointSummary[] = [];
        const failures: Failure[] = [];
        for (const id of ids) {
          try {
            const summary = await summaryOf(store.storage, id);
            if (summary !== undefined) known.push(summary);
          } catch (error) {
            if (!CheckpointError.is(error, 'NotFound')) failures.push(failureOf(error, id));
          }
        }
        known.sort(
          (a, b) =>
            a.createdAt.getTime() - b.createdAt.getTime() ||
            (a.identifier < b.identifier ? -1 : a.identifier > b.identifier ? 1 : 0),
        );
        const due = known
          .slice(0, Math.max(0, known.length - keepLast))
          .filter((c) => cutoff === undefined || c.createdAt.getTime() < cutoff.getTime());
        const removed: string[] = [];
        const unreadable = failures.length;
        for (const { identifier, createdAt } of due) {
          if (dryRun) {
            removed.push(identifier);
            out.line(`would remove ${shownName(identifier)} (created ${createdAt.toISOString()})`);
            continue;
          }
          try {
            await store.storage.removeCheckpoint(identifier);
            removed.push(identifier);
            out.line(`removed ${shownName(identifier)} (created ${createdAt.toISOString()})`);
          } catch (error) {
            if (CheckpointError.is(error, 'NotFound')) continue; // removed meanwhile: the goal is met
            failures.push(failureOf(error, identifier));
          }
        }
        for (const failure of failures) out.line(failureLine(failure, shownName));
        // Unreadable checkpoints (failures before any removal) stay, and count as kept.
        const kept = known.length + unreadable - removed.length;
        out.data({ dryRun, removed, kept, failures });
        out.line(
          `${dryRun ? 'would remove' : 'removed'} ${removed.length} checkpoint(s), kept ${kept}` +
            (failures.length > 0 ? `, ${failures.length} FAILED (kept)` : ''),
        );
        if (failures.length > 0) {
          throw new CheckFailed(
            `${failures.length} checkpoint(s) could not be read or removed and were kept (listed above); run \`checkpointable verify\`.`,
          );
        }
      });
    });
}
