import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { errorLine, exitCodeOf, EXIT_OK, EXIT_USAGE } from './cli-error';
import { cpCommand } from './cp-command';
import { exportCommand } from './export-command';
import { importCommand } from './import-command';
import { lsCommand } from './ls-command';
import { pruneCommand } from './prune-command';
import { rmCommand } from './rm-command';
import { showCommand } from './show-command';
import { verifyCommand } from './verify-command';

const OVERVIEW = `
Where: --storage <url> or CHECKPOINT_STORAGE, the same URLs as registerCheckpointing:
  file:./var/checkpoints   postgres://user@host:5432/db   redis://host:6379
Wrapper chain, innermost first: --wrappers checksum,hmac,encrypt,guard or CHECKPOINT_WRAPPERS.
Keys only from the environment or key files, never as arguments:
  CHECKPOINT_HMAC_KEY or --hmac-key-file <path>
  CHECKPOINT_ENCRYPTION_KEY or --encryption-key-file <path>
Exit codes: 0 ok, 1 a check failed, 2 usage error.

Examples:
  $ export CHECKPOINT_STORAGE=file:./var/checkpoints CHECKPOINT_WRAPPERS=checksum,hmac
  $ export CHECKPOINT_HMAC_KEY="$(cat /run/secrets/checkpoint-hmac)"
  $ checkpointable ls
  $ checkpointable verify
  $ checkpointable cp --to postgres://app@db:5432/app
  $ checkpointable prune --keep-last 10 --older-than 7d --dry-run`;

/**
 * The `checkpointable` command line: global options and the eight commands.
 *
 * @example
 * ```ts
 * await buildProgram().parseAsync(['node', 'checkpointable', 'ls']);
 * ```
 */
export function buildProgram(): Command {
  const program = new Command('checkpointable')
    .description('inspect, verify, copy, back up and prune checkpoints')
    .version(packageVersion(), '-V, --version')
    .addOption(new Option('--storage <url>', 'where checkpoints live (or CHECKPOINT_STORAGE)'))
    .addOption(
      new Option(
        '--wrappers <list>',
        'wrapper chain, innermost first, or none (or CHECKPOINT_WRAPPERS)',
      ),
    )
    .addOption(
      new Option('--hmac-key-file <path>', 'file holding the HMAC key (or CHECKPOINT_HMAC_KEY)'),
    )
    .addOption(
      new Option(
        '--encryption-key-file <path>',
        'file holding the encryption key (or CHECKPOINT_ENCRYPTION_KEY)',
      ),
    )
    .addOption(new Option('--json', 'print one JSON document on stdout, nothing else'))
    .addHelpText('after', OVERVIEW)
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({ outputError: () => undefined });
  for (const command of [
    lsCommand(),
    showCommand(),
    verifyCommand(),
    cpCommand(),
    exportCommand(),
    importCommand(),
    rmCommand(),
    pruneCommand(),
  ]) {
    command.copyInheritedSettings(program);
    program.addCommand(command);
  }
  return program;
}

/**
 * Runs the command line and returns the exit code; errors are printed as one line on
 * stderr (their kind and the fix). Never throws.
 *
 * @example
 * ```ts
 * process.exitCode = await runCli(process.argv);
 * ```
 */
export async function runCli(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  if (argv.length <= 2) {
    process.stderr.write(program.helpInformation());
    return EXIT_USAGE;
  }
  try {
    await program.parseAsync([...argv]);
    return EXIT_OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (
        error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.help' ||
        error.code === 'commander.version'
      ) {
        return EXIT_OK;
      }
      const command = argv.slice(2).find((a) => !a.startsWith('-')) ?? '';
      const known = program.commands.some((c) => c.name() === command);
      process.stderr.write(
        `checkpointable: Usage: ${error.message.replace(/^error: /, '')}; run \`checkpointable ${known ? `${command} ` : ''}--help\` for the usage.\n`,
      );
      return EXIT_USAGE;
    }
    process.stderr.write(`${errorLine(error)}\n`);
    return exitCodeOf(error);
  }
}

function packageVersion(): string {
  try {
    const text = readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8');
    return String((JSON.parse(text) as { version?: unknown }).version ?? 'unknown');
  } catch {
    return 'unknown';
  }
}
