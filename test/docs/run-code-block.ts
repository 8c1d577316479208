import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import type { CodeBlock } from './markdown-code-blocks';

/** A `console.log(x); // expected` line of a runnable block, and what it printed. */
export interface LogExpectation {
  /** `README.md:31` */
  readonly where: string;
  /** The comment, as the page shows it. */
  readonly expected: string;
  /** What the call printed, formatted as `console.log` formats it; `undefined` if never run. */
  actual: string | undefined;
}

const HOOK = '__checkpointableDocsLog';
const LOG_LINE = /^(\s*)console\.log\((.*)\);\s*\/\/\s?(.*)$/;

/**
 * Runs a ```ts runnable block as a module of its own, in a fresh temporary working directory
 * (removed afterwards), and returns its `console.log(x); // expected` lines with what each
 * printed. The module is written under the repository's git-ignored `.scratch/` folder, so
 * that `checkpointable` and its dependencies resolve as they do for the tests; it is deleted
 * after the run.
 *
 * @example
 * ```ts
 * for (const log of await runCodeBlock(ROOT, block)) expect(normalise(log.actual)).toBe(normalise(log.expected));
 * ```
 * @throws whatever the block throws.
 */
export async function runCodeBlock(root: string, block: CodeBlock): Promise<LogExpectation[]> {
  const expectations: LogExpectation[] = [];
  const lines = block.code.split('\n').map((line, index) => {
    const log = LOG_LINE.exec(line);
    if (!log) return line;
    const [, indent, args, expected] = log as unknown as [string, string, string, string];
    const expectation = {
      where: `${block.file}:${block.line + index}`,
      expected,
      actual: undefined,
    };
    expectations.push(expectation);
    return `${indent}(globalThis as any).${HOOK}(${expectations.length - 1}, ${args});`;
  });

  const moduleDir = join(root, '.scratch', 'docs-blocks', randomUUID());
  const moduleFile = join(
    moduleDir,
    `${block.file.replace(/[^A-Za-z0-9]+/g, '-')}-L${block.line}.ts`,
  );
  const workDir = await mkdtemp(join(tmpdir(), 'checkpointable-docs-'));
  const previousDir = process.cwd();
  const hooks = globalThis as Record<string, unknown>;
  hooks[HOOK] = (index: number, ...values: unknown[]) => {
    const text = values
      .map((v) => (typeof v === 'string' ? v : inspect(v, { depth: 10 })))
      .join(' ');
    expectations[index]!.actual = text;
    console.log(text);
  };
  try {
    await mkdir(moduleDir, { recursive: true });
    await writeFile(moduleFile, `${lines.join('\n')}\nexport {};\n`);
    process.chdir(workDir);
    await import(moduleFile);
  } finally {
    process.chdir(previousDir);
    delete hooks[HOOK];
    await rm(workDir, { recursive: true, force: true });
    await rm(moduleDir, { recursive: true, force: true });
  }
  return expectations;
}
