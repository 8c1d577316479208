import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..');
const PAGES = ['docs/nestjs.md', 'docs/storage-urls.md'];

/** The `ts` code blocks of a Markdown page. */
function blocks(page: string): string[] {
  const text = readFileSync(join(ROOT, page), 'utf8');
  return [...text.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
}

describe('the ts examples of the NestJS and storage URL pages', () => {
  it('compile against the package imports, each as its own module', () => {
    // Inside the worktree, so that @nestjs/* and the package paths resolve as for tests.
    const dir = join(ROOT, '.scratch', `docs-examples-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    try {
      const files: string[] = [];
      for (const page of PAGES) {
        const found = blocks(page);
        expect(found.length, page).toBeGreaterThan(0);
        found.forEach((code, i) => {
          const file = join(dir, `${page.replace(/\W/g, '-')}-${i}.ts`);
          writeFileSync(file, `${code}\nexport {};\n`);
          files.push(file);
        });
      }
      const config = ts.getParsedCommandLineOfConfigFile(
        join(ROOT, 'tsconfig.json'),
        {},
        { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined },
      )!;
      const program = ts.createProgram(files, { ...config.options, noEmit: true });
      const problems = ts
        .getPreEmitDiagnostics(program)
        .filter((d) => d.file === undefined || files.includes(d.file.fileName))
        .map((d) => {
          const where = d.file
            ? `${d.file.fileName.slice(dir.length + 1)}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}`
            : '';
          return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
        });
      expect(problems).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
