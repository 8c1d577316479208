#!/usr/bin/env node
/**
 * The `checkpointable` bin: see `checkpointable --help`, or docs/operating.md.
 */
import 'reflect-metadata';
import { errorLine, EXIT_CHECK_FAILED, EXIT_OK } from './cli-error';
import { runCli } from './program';

process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  // The reader went away (`checkpointable show ... | head`): the rest is not wanted.
  if (error.code === 'EPIPE') process.exit(EXIT_OK);
  process.stderr.write(`${errorLine(error)}\n`);
  process.exit(EXIT_CHECK_FAILED);
});

void runCli(process.argv).then((code) => {
  // exitCode, not exit(): stdout is flushed before the process ends.
  process.exitCode = code;
});
