import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/** One fenced ```ts block of a Markdown page. */
export interface CodeBlock {
  /** The page, relative to the repository root (`docs/wrappers.md`). */
  readonly file: string;
  /** The 1-based line of the page that holds the block's first line of code. */
  readonly line: number;
  /** The code, with the indentation of the fence (blocks inside list items) removed. */
  readonly code: string;
  /** Marked ```ts runnable: the test also runs it. */
  readonly runnable: boolean;
}

const FENCE = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)(.*)$/;

/**
 * Every fenced block whose language is `ts` (or `typescript`) in a Markdown text. Blocks of
 * any other language (`sh`, `text`, `sql`, or none) are left alone: that is how a page shows
 * something that is intentionally not TypeScript.
 *
 * @example
 * ```ts
 * const blocks = extractCodeBlocks('docs/errors.md', readFileSync('docs/errors.md', 'utf8'));
 * ```
 * @throws Error when a fence is never closed, naming the page and the line it opened on.
 */
export function extractCodeBlocks(file: string, markdown: string): CodeBlock[] {
  const lines = markdown.split(/\r?\n/);
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (!open) continue;
    const [, indent, fence, language, rest] = open as unknown as [
      string,
      string,
      string,
      string,
      string,
    ];
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length; i++) {
      const line = lines[i]!;
      const close = /^(\s*)(`{3,}|~{3,})\s*$/.exec(line);
      if (close && close[2]![0] === fence[0] && close[2]!.length >= fence.length) break;
      body.push(line.startsWith(indent) ? line.slice(indent.length) : line.trimStart());
    }
    if (i >= lines.length) {
      throw new Error(`${file}:${start + 1}: a code fence opened here is never closed`);
    }
    if (language !== 'ts' && language !== 'typescript') continue;
    blocks.push({
      file,
      line: start + 2,
      code: body.join('\n'),
      runnable: /\brunnable\b/.test(rest),
    });
  }
  return blocks;
}

/**
 * The Markdown pages whose code the test checks: README.md and every `.md` under `docs/`
 * (found afresh on each run, so new pages are checked without being listed anywhere).
 *
 * @example
 * ```ts
 * for (const page of manualPages(ROOT)) console.log(page); // README.md, docs/errors.md, ...
 * ```
 */
export function manualPages(root: string): string[] {
  const pages = ['README.md'];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && entry.name.endsWith('.md')) pages.push(relative(root, path));
    }
  };
  walk(join(root, 'docs'));
  return pages.sort();
}

/**
 * Every ```ts block of every manual page.
 *
 * @example
 * ```ts
 * const blocks = manualCodeBlocks(ROOT);
 * ```
 */
export function manualCodeBlocks(root: string): CodeBlock[] {
  return manualPages(root).flatMap((page) =>
    extractCodeBlocks(page, readFileSync(join(root, page), 'utf8')),
  );
}
