#!/usr/bin/env node
/**
 * The `checkpointable` bin: see `checkpointable --help`, or docs/operating.md.
 */
import 'reflect-metadata';
import { runCli } from './program';

void runCli(process.argv).then((code) => {
  // exitCode, not exit(): stdout is flushed before the process ends.
  process.exitCode = code;
});
