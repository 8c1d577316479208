import { Command } from 'commander';
import { CheckpointError, quote } from '../errors';
import type { Storage } from '../storage/storage';
import { CheckFailed, UsageError } from './cli-error';
import { summarize } from './checkpoint-origin';
import {
  context,
  failureLine,
  failureOrGone,
  formatBytes,
  selectIdentifiers,
  withStore,
  type Failure,
} from './command-context';
import { CopyWriter } from './copy-writer';
import { openStore, TARGET_ENV, type OpenStore } from './open-store';
import { shownName } from './output';

interface CpOptions {
  to?: string;
  toWrappers?: string;
  toHmacKeyFile?: string;
  toEncryptionKeyFile?: string;
  skipExisting?: boolean;
}

/**
 * `checkpointable cp --to <url> [id...]`: copies checkpoints to another storage, keeping
 * identifiers and creation times. Values are read (and checked) through the source's
 * wrapper chain and written through the target's, so the target's keys seal them. Each
 * checkpoint is committed on its own: an interrupted copy leaves whole checkpoints, and
 * running it again with `--skip-existing` copies only what is missing.
 *
 * @example
 * ```ts
 * program.addCommand(cpCommand());
 * ```
 */
export function cpCommand(): Command {
  return new Command('cp')
    .description('copy checkpoints to another storage, keeping identifiers and creation times')
    .argument('[id...]', 'only these checkpoints (all by default)')
    .option('--to <url>', 'the target storage (or CHECKPOINT_TO_STORAGE)')
    .option(
      '--to-wrappers <list>',
      "the target's wrapper chain (or CHECKPOINT_TO_WRAPPERS; default: the source's)",
    )
    .option(
      '--to-hmac-key-file <path>',
      "the target's HMAC key (or CHECKPOINT_TO_HMAC_KEY; default: the source's)",
    )
    .option(
      '--to-encryption-key-file <path>',
      "the target's encryption key (or CHECKPOINT_TO_ENCRYPTION_KEY; default: the source's)",
    )
    .option('--skip-existing', 'skip checkpoints the target already has (to resume a copy)')
    .addHelpText(
      'after',
      `
Without --skip-existing, a checkpoint that the target already has stops the copy before
anything is written. The original creation time is kept in the copy's manifest, and ls,
show and prune report it.

Examples:
  $ checkpointable cp --storage file:./var/checkpoints --to postgres://app@db/app
  $ checkpointable cp --to redis://cache:6379 --to-wrappers checksum,hmac order-41 order-42
  $ checkpointable cp --to file:/backups/checkpoints --skip-existing   # resume`,
    )
    .action(async (given: string[], local: CpOptions, command: Command) => {
      const { options, out } = context(command);
      await withStore(options, async (source) => {
        const target = await openStore(
          {
            storage: local.to,
            wrappers: local.toWrappers,
            hmacKeyFile: local.toHmacKeyFile,
            encryptionKeyFile: local.toEncryptionKeyFile,
          },
          TARGET_ENV,
          { wrappers: options.wrappers ?? process.env.CHECKPOINT_WRAPPERS, ...keyFiles(options) },
          true,
        );
        try {
          if (target.place === source.place) {
            throw new UsageError(
              `--to names the source storage itself (${target.display}); copy to another one.`,
            );
          }
          const ids = await selectIdentifiers(source.storage, given);
          const skipped = await existing(target.storage, ids, local.skipExisting === true);
          const failures: Failure[] = [];
          const copied: string[] = [];
          let bytes = 0;
          const todo = ids.filter((id) => !skipped.has(id));
          const progress = out.progress('copy', todo.length);
          for (const id of todo) {
            try {
              bytes += await copyOne(source, target, id);
              copied.push(id);
              progress.tick(id, 'copied');
            } catch (error) {
              if (CheckpointError.is(error, 'AlreadyExists') && local.skipExisting === true) {
                skipped.add(id);
                progress.tick(id, 'skipped (already in the target)');
                continue;
              }
              const failure = failureOrGone(error, id, source.display, given.length > 0);
              if (failure === undefined) {
                progress.tick(id, 'gone (removed from the source meanwhile)');
                continue;
              }
              failures.push(failure);
              progress.tick(id, 'FAILED');
              progress.report(failureLine(failure, shownName));
            }
          }
          progress.stop();
          out.data({ copied, skipped: [...skipped], failures, bytes });
          out.line(
            `copied ${copied.length} checkpoint(s) (${formatBytes(bytes)}) to ${target.display}` +
              (skipped.size > 0 ? `, skipped ${skipped.size} already there` : '') +
              (failures.length > 0 ? `, ${failures.length} FAILED` : ''),
          );
          if (failures.length > 0) {
            throw new CheckFailed(
              `${failures.length} checkpoint(s) were not copied (listed above); fix the cause and run the same command with --skip-existing to copy the rest.`,
            );
          }
        } finally {
          await target.close();
        }
      });
    });
}

function keyFiles(options: { hmacKeyFile?: string; encryptionKeyFile?: string }) {
  return { hmacKeyFile: options.hmacKeyFile, encryptionKeyFile: options.encryptionKeyFile };
}

/**
 * The identifiers of `ids` the target already has: returned to be skipped with
 * `--skip-existing`, refused without it (before anything is written).
 */
async function existing(target: Storage, ids: string[], skip: boolean): Promise<Set<string>> {
  const there = new Set(await target.checkpointIdentifiers());
  const clash = ids.filter((id) => there.has(id));
  if (clash.length > 0 && !skip) {
    const names =
      clash.slice(0, 5).map(quote).join(', ') +
      (clash.length > 5 ? `, ... (${clash.length} in all)` : '');
    throw new CheckFailed(
      `the target already has ${names}; nothing was copied. Pass --skip-existing to copy only the others, or remove them from the target first.`,
    );
  }
  return new Set(clash);
}

/** Copies one checkpoint; returns the bytes copied. */
async function copyOne(source: OpenStore, target: OpenStore, id: string): Promise<number> {
  const saved = await source.storage.loadCheckpoint(id);
  try {
    const { createdAt } = await summarize(saved);
    const copy = await CopyWriter.begin(target.storage, id, createdAt);
    try {
      for (const key of await saved.keys()) await copy.value(key, await saved.getBytes(key));
    } catch (error) {
      await copy.discard();
      throw error;
    }
    return await copy.commit();
  } finally {
    await saved.release();
  }
}
