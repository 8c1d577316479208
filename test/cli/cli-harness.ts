import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

/** The repository root. */
export const ROOT = join(__dirname, '..', '..');

/**
 * Compiles the package (tsconfig.build.json) once per source state into a temp folder and
 * returns the path of the compiled bin: the tests run the bin as users do, compiled, in
 * its own process. A second test file finds the build already there.
 */
export function buildCli(): string {
  const hash = createHash('sha256');
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else hash.update(relative(ROOT, path)).update(readFileSync(path));
    }
  };
  walk(join(ROOT, 'src'));
  hash.update(readFileSync(join(ROOT, 'tsconfig.build.json')));
  hash.update(readFileSync(join(ROOT, 'package.json')));
  const out = join(tmpdir(), `checkpointable-cli-build-${hash.digest('hex').slice(0, 16)}`);
  const main = join(out, 'dist', 'cli', 'main.js');
  if (existsSync(main)) return main;
  // Builds of earlier source states pile up in the temp folder: drop those a day old.
  for (const name of readdirSync(tmpdir())) {
    const path = join(tmpdir(), name);
    if (!name.startsWith('checkpointable-cli-build-')) continue;
    if (Date.now() - statSync(path).mtimeMs > 86_400_000)
      rmSync(path, { recursive: true, force: true });
  }
  const staging = mkdtempSync(`${out}.tmp-`);
  const tsc = spawnSync(
    process.execPath,
    [
      join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
      '-p',
      join(ROOT, 'tsconfig.build.json'),
      '--outDir',
      join(staging, 'dist'),
      '--sourceMap',
      'false',
      '--declaration',
      'false',
    ],
    { encoding: 'utf8' },
  );
  if (tsc.status !== 0) throw new Error(`tsc failed:\n${tsc.stdout}${tsc.stderr}`);
  // The bin reads its version from ../../package.json, as in the published package.
  copyFileSync(join(ROOT, 'package.json'), join(staging, 'package.json'));
  try {
    renameSync(staging, out);
  } catch {
    rmSync(staging, { recursive: true, force: true }); // built meanwhile by another file
  }
  return main;
}

/** What a run of the bin gave. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the compiled bin with `args` in its own process. The environment is this one's
 * without any CHECKPOINT_* variable, plus `env`; modules resolve from the repository's
 * node_modules, as they would from a package's own.
 */
export function runBin(
  main: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<CliRun> {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('CHECKPOINT_')) base[k] = v;
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [main, ...args], {
      env: { ...base, NODE_PATH: join(ROOT, 'node_modules'), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A fresh temp folder. */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
