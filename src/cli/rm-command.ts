import { Command } from 'commander';
import { CheckpointError } from '../errors';
import { CheckFailed } from './cli-error';
import {
  context,
  failureLine,
  failureOf,
  notFound,
  selectIdentifiers,
  withStore,
  type Failure,
} from './command-context';
import { shownName } from './output';

/**
 * `checkpointable rm <id...>`: removes checkpoints. An identifier that is not there is a
 * failure (exit 1), listed; the others are still removed.
 *
 * @example
 * ```ts
 * program.addCommand(rmCommand());
 * ```
 */
export function rmCommand(): Command {
  return new Command('rm')
    .description('remove checkpoints')
    .argument('<id...>', 'the checkpoints to remove')
    .addHelpText(
      'after',
      `
Examples:
  $ checkpointable rm order-41
  $ checkpointable ls --json | jq -r '.checkpoints[] | select(.keys == []) | .identifier' | xargs checkpointable rm`,
    )
    .action(async (given: string[], _local: unknown, command: Command) => {
      const { options, out } = context(command);
      await withStore(options, async (store) => {
        const ids = await selectIdentifiers(store.storage, given);
        const removed: string[] = [];
        const failures: Failure[] = [];
        for (const id of ids) {
          try {
            await store.storage.removeCheckpoint(id);
            removed.push(id);
            out.line(`removed ${shownName(id)}`);
          } catch (error) {
            const reported = CheckpointError.is(error, 'NotFound')
              ? notFound(id, store.display)
              : error;
            const failure = failureOf(reported, id);
            failures.push(failure);
            out.line(failureLine(failure, shownName));
          }
        }
        out.data({ removed, failures });
        if (failures.length > 0) {
          throw new CheckFailed(
            `${failures.length} of ${ids.length} checkpoint(s) were not removed (listed above).`,
          );
        }
      });
    });
}
