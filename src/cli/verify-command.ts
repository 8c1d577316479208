import { Command } from 'commander';
import { decodeValue } from '../codec/decoder';
import { CheckpointError, quote } from '../errors';
import { STORED_CLASSES } from './stored-classes';
import type { CommittedCheckpoint } from '../storage/storage';
import { CheckFailed } from './cli-error';
import { MANIFEST_KEY, readManifest } from './checkpoint-origin';
import {
  context,
  failureLine,
  failureOf,
  failureOrGone,
  formatBytes,
  selectIdentifiers,
  withStore,
  type Failure,
} from './command-context';
import type { OpenStore } from './open-store';
import { shownName } from './output';

/**
 * `checkpointable verify [id...]`: reads every value of every checkpoint (or of those
 * named) through the wrapper chain, which checks checksums, MACs and authentication
 * tags, and decodes it, which checks the codec data. Exit code 0 when all pass, 1 when any
 * fails, each failure listed with its kind.
 *
 * @example
 * ```ts
 * program.addCommand(verifyCommand());
 * ```
 */
export function verifyCommand(): Command {
  return new Command('verify')
    .description('read and decode every value through the wrapper chain; exit 1 if any fails')
    .argument('[id...]', 'only these checkpoints (all by default)')
    .addHelpText(
      'after',
      `
Exit code: 0 every checkpoint verified, 1 at least one failed (each failure is listed
with its kind: Integrity, Deserialize, Io, ...), 2 a usage error.

Examples:
  $ CHECKPOINT_HMAC_KEY=... checkpointable verify --storage file:./var/checkpoints --wrappers checksum,hmac
  $ checkpointable verify order-41 order-42
  $ checkpointable verify --json | jq '.failures'`,
    )
    .action(async (given: string[], _local: unknown, command: Command) => {
      const { options, out } = context(command);
      await withStore(options, async (store) => {
        const ids = await selectIdentifiers(store.storage, given);
        const failures: Failure[] = [];
        let values = 0;
        let bytes = 0;
        const progress = out.progress('verify', ids.length);
        for (const id of ids) {
          const found = await verifyOne(store, id, given.length > 0);
          values += found.values;
          bytes += found.bytes;
          failures.push(...found.failures);
          progress.tick(id, found.failures.length === 0 ? 'ok' : 'FAILED');
          for (const failure of found.failures) progress.report(failureLine(failure, shownName));
        }
        progress.stop();
        const failed = new Set(failures.map((f) => f.identifier)).size;
        out.data({ checkpoints: ids.length, values, bytes, failed, failures });
        out.line(
          failed === 0
            ? `verified ${ids.length} checkpoint(s), ${values} value(s), ${formatBytes(bytes)}: all good`
            : `verified ${ids.length} checkpoint(s), ${values} value(s), ${formatBytes(bytes)}: ${failed} FAILED`,
        );
        if (failed > 0) {
          throw new CheckFailed(
            `${failed} of ${ids.length} checkpoint(s) failed verification (listed above); restore them from a backup or remove them.`,
          );
        }
      });
    });
}

async function verifyOne(
  store: OpenStore,
  id: string,
  named: boolean,
): Promise<{ values: number; bytes: number; failures: Failure[] }> {
  const result = { values: 0, bytes: 0, failures: [] as Failure[] };
  let saved: CommittedCheckpoint;
  try {
    saved = await store.storage.loadCheckpoint(id);
  } catch (error) {
    const failure = failureOrGone(error, id, store.display, named);
    if (failure !== undefined) result.failures.push(failure);
    return result;
  }
  try {
    const keys = await saved.keys();
    for (const key of keys) {
      try {
        const bytes = await saved.getBytes(key);
        result.values++;
        result.bytes += bytes.byteLength;
        if (key !== MANIFEST_KEY) {
          decodeValue(bytes, { identifier: id, key, classes: STORED_CLASSES }, { owned: true });
          continue;
        }
        // A value the manifest lists but the storage lost (an evicted field, a deleted
        // row) would otherwise pass unnoticed: nothing else says it was ever there.
        const have = new Set(keys);
        for (const lost of readManifest(bytes, id).keys.filter((k) => !have.has(k))) {
          result.failures.push(
            failureOf(
              new CheckpointError(
                'Integrity',
                `Checkpoint ${quote(id)} was saved with key ${quote(lost)} (its manifest says so), but the storage no longer has it; restore the checkpoint from a backup.`,
                { identifier: id, key: lost },
              ),
              id,
              lost,
            ),
          );
        }
      } catch (error) {
        result.failures.push(failureOf(error, id, key));
      }
    }
  } catch (error) {
    result.failures.push(failureOf(error, id));
  } finally {
    await saved.release();
  }
  return result;
}
