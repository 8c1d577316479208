import { promises as fs, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Command } from 'commander';
import { CheckpointError } from '../errors';
import type { CommittedCheckpoint } from '../storage/storage';
import { UsageError } from './cli-error';
import { ArchiveWriter } from './archive-format';
import { summarize } from './checkpoint-origin';
import { context, formatBytes, notFound, selectIdentifiers, withStore } from './command-context';

/**
 * `checkpointable export <archive> [id...]`: writes checkpoints into one portable archive
 * file (format in archive-format.ts). Values are read through the wrapper chain, so every
 * one is checked as it is exported, and written one at a time: memory holds one value,
 * never the store. The archive is written under a temporary name, flushed to disk, then
 * renamed, so an interrupted export never leaves a file that looks complete.
 *
 * @example
 * ```ts
 * program.addCommand(exportCommand());
 * ```
 */
export function exportCommand(): Command {
  return new Command('export')
    .description('write checkpoints into one portable archive file')
    .argument('<archive>', 'the archive file to write (refused if it exists, unless --force)')
    .argument('[id...]', 'only these checkpoints (all by default)')
    .option('--force', 'replace the archive file if it exists')
    .addHelpText(
      'after',
      `
The archive holds the values as the wrapper chain returns them: verified and, with
encrypt, decrypted. Keep it as safe as the keys, or encrypt the file itself.

Examples:
  $ checkpointable export /backups/checkpoints-$(date +%F).cpar
  $ checkpointable export order-42.cpar order-42 --wrappers checksum,hmac`,
    )
    .action(
      async (archive: string, given: string[], local: { force?: boolean }, command: Command) => {
        const { options, out } = context(command);
        const path = resolve(archive);
        if (local.force !== true && (await exists(path))) {
          throw new UsageError(
            `the archive ${JSON.stringify(archive)} exists; pass --force to replace it, or choose another name.`,
          );
        }
        await withStore(options, async (store) => {
          const ids = await selectIdentifiers(store.storage, given);
          const partial = `${path}.partial`;
          await fs.rm(partial, { force: true });
          const writer = await ArchiveWriter.create(partial);
          // Interrupted (Ctrl-C, a stop): remove the unfinished file rather than leave it.
          const interrupted = (signal: NodeJS.Signals) => {
            rmSync(partial, { force: true });
            process.stderr.write(
              `checkpointable: Interrupted: export stopped by ${signal}; no archive was written.\n`,
            );
            process.exit(130);
          };
          process.once('SIGINT', interrupted);
          process.once('SIGTERM', interrupted);
          let bytes = 0;
          let written = 0;
          const progress = out.progress('export', ids.length);
          try {
            await writer.header(new Date());
            for (const id of ids) {
              let saved: CommittedCheckpoint;
              try {
                saved = await store.storage.loadCheckpoint(id);
              } catch (error) {
                if (CheckpointError.is(error, 'NotFound') && given.length === 0) {
                  progress.tick(id, 'gone (removed meanwhile)');
                  continue;
                }
                throw CheckpointError.is(error, 'NotFound') ? notFound(id, store.display) : error;
              }
              try {
                const { createdAt } = await summarize(saved);
                const keys = await saved.keys();
                await writer.checkpoint(id, createdAt, keys.length);
                for (const key of keys) {
                  const value = await saved.getBytes(key);
                  bytes += value.byteLength;
                  await writer.value(key, value);
                }
                await writer.end(id);
                written++;
              } finally {
                await saved.release();
              }
              progress.tick(id, 'exported');
            }
            await writer.finish(written);
          } catch (error) {
            progress.stop();
            await writer.abandon();
            await fs.rm(partial, { force: true });
            throw error;
          } finally {
            process.off('SIGINT', interrupted);
            process.off('SIGTERM', interrupted);
          }
          progress.stop();
          await fs.rename(partial, path);
          await syncFolder(dirname(path));
          out.data({ archive: path, checkpoints: written, bytes });
          out.line(
            `exported ${written} checkpoint(s) (${formatBytes(bytes)} of values) to ${archive}`,
          );
        });
      },
    );
}

async function exists(path: string): Promise<boolean> {
  return fs.stat(path).then(
    () => true,
    () => false,
  );
}

/** Makes the rename durable: the folder entry is flushed too. */
async function syncFolder(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r').catch(() => undefined);
  if (handle === undefined) return;
  try {
    await handle.sync().catch(() => undefined);
  } finally {
    await handle.close();
  }
}
