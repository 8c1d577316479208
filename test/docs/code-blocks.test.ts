import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { extractCodeBlocks, manualCodeBlocks } from './markdown-code-blocks';
import { runCodeBlock } from './run-code-block';
import { typeCheckBlocks } from './type-check-blocks';

const ROOT = join(__dirname, '..', '..');

/** Output and comments compare without their spacing: `['a', 'b']` equals `[ 'a', 'b' ]`. */
const withoutSpaces = (text: string | undefined): string | undefined => text?.replace(/\s+/g, '');

describe('the manual (README.md and docs/*.md)', () => {
  const blocks = manualCodeBlocks(ROOT);
  const runnable = blocks.filter((b) => b.runnable);

  it('has ts code blocks to check, the README quick start among the runnable ones', () => {
    expect(blocks.length).toBeGreaterThan(20);
    expect(runnable.filter((b) => b.file === 'README.md').length).toBeGreaterThan(0);
    expect([...new Set(blocks.map((b) => b.file))]).toEqual(
      expect.arrayContaining(['README.md', 'docs/storage-api.md', 'docs/wrappers.md']),
    );
  });

  it('type-checks every ts code block against the package', () => {
    const problems = typeCheckBlocks(ROOT, blocks).map((p) => p.text);
    expect(problems, `\n${problems.join('\n')}\n`).toEqual([]);
  });

  it.each(runnable.map((b) => [`${b.file}:${b.line}`, b] as const))(
    'runs %s, and it prints what its comments say',
    async (_where, block) => {
      const logs = await runCodeBlock(ROOT, block);
      for (const log of logs) {
        expect(withoutSpaces(log.actual), `${log.where}: console.log printed`).toBe(
          withoutSpaces(log.expected),
        );
      }
    },
  );
});

describe('the code block check itself', () => {
  const page = [
    '# A page',
    '',
    '```ts',
    "const n: number = 'not a number';",
    '```',
    '',
    '```text',
    'not TypeScript, never checked',
    '```',
    '',
    '- in a list:',
    '',
    '  ```ts runnable',
    "  import { MemoryStorage } from 'checkpointable';",
    '  const storage = MemoryStorage.create();',
    '  console.log(await storage.checkpointIdentifiers()); // [ 1 ]',
    '  ```',
  ].join('\n');
  const blocks = extractCodeBlocks('docs/example.md', page);

  it('finds the ts blocks, indented ones too, and their page lines', () => {
    expect(blocks.map((b) => [b.line, b.runnable, b.code.split('\n')[0]])).toEqual([
      [4, false, "const n: number = 'not a number';"],
      [14, true, "import { MemoryStorage } from 'checkpointable';"],
    ]);
  });

  it('reports each block that does not compile as file:line with the diagnostic', () => {
    // One program for all, as for the manual: a typed mistake, a name nobody declares, a
    // runnable block leaning on the automatic imports that only fragments get, and a
    // restated interface that shows a member the package does not have.
    const [undeclared] = extractCodeBlocks('docs/a.md', '```ts\nundeclaredThing.run();\n```\n');
    const [leaning] = extractCodeBlocks(
      'docs/b.md',
      '\n```ts runnable\nconst storage = MemoryStorage.create();\n```\n',
    );
    const [drifted] = extractCodeBlocks(
      'docs/c.md',
      '```ts\ninterface Storage {\n  close(): Promise<void>;\n  vanish(): void;\n}\n```\n',
    );
    const [faithful] = extractCodeBlocks(
      'docs/d.md',
      '```ts\ninterface Storage {\n  close(): Promise<void>;\n}\n```\n',
    );
    const problems = typeCheckBlocks(ROOT, [
      blocks[0]!,
      undeclared!,
      leaning!,
      drifted!,
      faithful!,
    ]);
    expect(problems.map((p) => p.text.split('\n')[0])).toEqual([
      "docs/example.md:4: TS2322 Type 'string' is not assignable to type 'number'.",
      "docs/a.md:2: TS2304 Cannot find name 'undeclaredThing'.",
      "docs/b.md:3: TS2304 Cannot find name 'MemoryStorage'.",
      expect.stringMatching(
        /^docs\/c\.md:2: interface Storage differs from the package's Storage: TS2741 Property 'vanish' is missing in type .* but required in type 'Storage'\.$/,
      ),
    ]);
  });

  it('runs a runnable block and returns what a commented console.log printed', async () => {
    const logs = await runCodeBlock(ROOT, blocks[1]!);
    expect(logs).toEqual([{ where: 'docs/example.md:16', expected: '[ 1 ]', actual: '[]' }]);
  });

  it('refuses a page whose fence is never closed', () => {
    expect(() => extractCodeBlocks('docs/broken.md', 'text\n```ts\nconst a = 1;\n')).toThrow(
      'docs/broken.md:2: a code fence opened here is never closed',
    );
  });
});
