import { Command } from 'commander';
import { CheckpointError, quote } from '../errors';
import { CheckFailed } from './cli-error';
import { readArchive, type ArchiveCheckpoint, type ArchiveVisitor } from './archive-format';
import { MANIFEST_KEY, readManifest, type OriginManifest } from './checkpoint-origin';
import { context, formatBytes, withStore } from './command-context';
import { CopyWriter } from './copy-writer';
import { shownName } from './output';

/**
 * `checkpointable import <archive>`: restores the checkpoints of an archive into the
 * storage, through its wrapper chain, keeping identifiers and creation times. The whole
 * archive is checked first (every digest, the structure, the names), so a damaged archive
 * imports nothing; then each checkpoint is committed on its own.
 *
 * @example
 * ```ts
 * program.addCommand(importCommand());
 * ```
 */
export function importCommand(): Command {
  return new Command('import')
    .description('restore the checkpoints of an archive file into the storage')
    .argument('<archive>', 'the archive file written by export')
    .option('--list', 'check the archive and list what it holds, import nothing')
    .option('--skip-existing', 'skip checkpoints the storage already has (to resume an import)')
    .addHelpText(
      'after',
      `
Examples:
  $ checkpointable import /backups/checkpoints-2026-12-01.cpar --list
  $ checkpointable import /backups/checkpoints-2026-12-01.cpar --storage postgres://app@db/app
  $ checkpointable import backup.cpar --skip-existing   # resume`,
    )
    .action(
      async (
        archive: string,
        local: { list?: boolean; skipExisting?: boolean },
        command: Command,
      ) => {
        const { options, out } = context(command);
        const entries: ArchiveCheckpoint[] = [];
        let header;
        try {
          header = await readArchive(archive, false, checkingVisitor(entries));
        } catch (error) {
          if (!(error instanceof CheckpointError) || local.list === true) throw error;
          throw new CheckpointError(error.kind, `Nothing was imported: ${error.message}`, {
            cause: error,
          });
        }
        if (local.list === true) {
          out.data({
            exportedAt: header.exportedAt.toISOString(),
            checkpoints: entries.map((e) => ({
              identifier: e.identifier,
              createdAt: e.createdAt.toISOString(),
              values: e.values,
            })),
          });
          out.line(`archive ${archive}, exported ${header.exportedAt.toISOString()}`);
          const width = Math.max(0, ...entries.map((e) => shownName(e.identifier).length));
          for (const e of entries) {
            out.line(
              `${shownName(e.identifier).padEnd(width)}  ${e.createdAt.toISOString()}  ${e.values} value(s)`,
            );
          }
          out.line(`${entries.length} checkpoint(s)`);
          return;
        }
        await withStore(
          options,
          async (store) => {
            const there = new Set(await store.storage.checkpointIdentifiers());
            const clash = entries.filter((e) => there.has(e.identifier)).map((e) => e.identifier);
            if (clash.length > 0 && local.skipExisting !== true) {
              const names =
                clash.slice(0, 5).map(quote).join(', ') +
                (clash.length > 5 ? `, ... (${clash.length} in all)` : '');
              throw new CheckFailed(
                `the storage already has ${names}; nothing was imported. Pass --skip-existing to import only the others, or remove them first.`,
              );
            }
            const skipped = new Set(clash);
            const imported: string[] = [];
            let bytes = 0;
            let copy: CopyWriter | undefined;
            const progress = out.progress('import', entries.length);
            try {
              await readArchive(archive, true, {
                checkpoint: async (entry) => {
                  if (!skipped.has(entry.identifier)) {
                    copy = await CopyWriter.begin(store.storage, entry.identifier, entry.createdAt);
                  }
                },
                value: async (_id, key, value) => {
                  if (copy !== undefined) await copy.value(key, value!);
                },
                end: async (entry) => {
                  if (copy === undefined) {
                    progress.tick(entry.identifier, 'skipped (already in the storage)');
                    return;
                  }
                  bytes += await copy.commit();
                  copy = undefined;
                  imported.push(entry.identifier);
                  progress.tick(entry.identifier, 'imported');
                },
              });
            } catch (error) {
              await copy?.discard();
              throw error;
            } finally {
              progress.stop();
            }
            out.data({ imported, skipped: [...skipped], bytes });
            out.line(
              `imported ${imported.length} checkpoint(s) (${formatBytes(bytes)} of values) into ${store.display}` +
                (skipped.size > 0 ? `, skipped ${skipped.size} already there` : ''),
            );
          },
          true,
        );
      },
    );
}

/**
 * The first pass of `import`: collects the checkpoints and checks what a copy would refuse
 * half-way (a manifest that is not one, or that lists a value the archive does not hold),
 * so that such an archive imports nothing.
 */
function checkingVisitor(entries: ArchiveCheckpoint[]): ArchiveVisitor {
  let keys: string[] = [];
  let manifest: OriginManifest | undefined;
  return {
    checkpoint: (entry) => {
      entries.push(entry);
      keys = [];
      manifest = undefined;
    },
    value: (identifier, key, bytes) => {
      keys.push(key);
      if (key === MANIFEST_KEY && bytes !== undefined) manifest = readManifest(bytes, identifier);
    },
    end: ({ identifier }) => {
      const missing = manifest?.keys.filter((k) => !keys.includes(k)) ?? [];
      if (missing.length > 0) {
        throw new CheckpointError(
          'Integrity',
          `The archive lists ${missing.map(quote).join(', ')} in the manifest of checkpoint ${quote(identifier)} but holds no such value; use another copy of the archive or export again.`,
          { identifier },
        );
      }
    },
  };
}
