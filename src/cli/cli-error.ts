import { CheckpointError } from '../errors';

/**
 * Exit codes of the `checkpointable` bin: scripts branch on these. 0: done, all good.
 * @example
 * ```ts
 * process.exitCode = EXIT_OK;
 * ```
 */
export const EXIT_OK = 0;
/**
 * A check failed: a checkpoint did not verify, an identifier was missing or already there.
 * @example
 * ```ts
 * if (failures.length > 0) process.exitCode = EXIT_CHECK_FAILED;
 * ```
 */
export const EXIT_CHECK_FAILED = 1;
/**
 * The command line or the configuration is wrong: nothing was done.
 * @example
 * ```ts
 * if (error instanceof UsageError) process.exitCode = EXIT_USAGE;
 * ```
 */
export const EXIT_USAGE = 2;

/**
 * A mistake in the command line or the environment (a missing `--storage`, an unknown
 * wrapper, a key that is not set). The bin prints it on one line and exits with 2.
 *
 * @example
 * ```ts
 * throw new UsageError('no storage given; pass --storage <url> or set CHECKPOINT_STORAGE');
 * ```
 */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * A command ran but found something wrong (exit 1); its own output already listed what.
 *
 * @example
 * ```ts
 * if (failures.length > 0) throw new CheckFailed(`${failures.length} checkpoints failed`);
 * ```
 */
export class CheckFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckFailed';
  }
}

/** Kinds that mean the configuration is wrong rather than the data. */
const USAGE_KINDS = new Set(['Initialization', 'InvalidIdentifier']);

/**
 * The exit code for an error a command ended with.
 *
 * @example
 * ```ts
 * process.exitCode = exitCodeOf(error);
 * ```
 */
export function exitCodeOf(error: unknown): number {
  if (error instanceof UsageError) return EXIT_USAGE;
  if (error instanceof CheckpointError && USAGE_KINDS.has(error.kind)) return EXIT_USAGE;
  return EXIT_CHECK_FAILED;
}

/**
 * The one line printed for an error: its kind, then the message (which says the fix),
 * with line breaks folded so that a log keeps it on one line.
 *
 * @example
 * ```ts
 * errorLine(new CheckpointError('NotFound', 'No checkpoint "x".')); // 'checkpointable: NotFound: No checkpoint "x".'
 * ```
 */
export function errorLine(error: unknown): string {
  const kind =
    error instanceof CheckpointError
      ? error.kind
      : error instanceof UsageError
        ? 'Usage'
        : error instanceof CheckFailed
          ? 'CheckFailed'
          : 'Error';
  const message = error instanceof Error ? error.message : String(error);
  return `checkpointable: ${kind}: ${oneLine(message)}`;
}

/**
 * Folds line breaks and other control characters into spaces, so that a value read from
 * storage (an identifier, a class name) cannot move the cursor or fake another line.
 *
 * @example
 * ```ts
 * oneLine('a\nb'); // 'a b'
 * ```
 */
export function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ');
}
