import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';

/** A link of a Markdown page that leads nowhere, or out of the published package. */
export interface LinkProblem {
  /** `docs/wrappers.md:12: ...` */
  readonly text: string;
}

const LINK = /\[(?:[^\]]|\][^(])*?\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g;

/**
 * The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces as
 * hyphens, a repeated heading numbered `-1`, `-2`, ...
 *
 * @example
 * ```ts
 * headingAnchors('## What `restore` does\n'); // Set { 'what-restore-does' }
 * ```
 */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  let fenced = false;
  for (const line of markdown.split(/\r?\n/)) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const heading = fenced ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const base = heading[1]!
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    let anchor = base;
    for (let n = 1; anchors.has(anchor); n++) anchor = `${base}-${n}`;
    anchors.add(anchor);
  }
  return anchors;
}

/**
 * Checks every relative link of `pages` (paths relative to `root`): the file must exist,
 * an anchor must be a heading of that file, and, for pages that ship in the npm package,
 * the target must ship too (`README.md` and `docs/`), or the link breaks for readers of the
 * package. Absolute links (`https:`, `mailto:`) are not followed.
 *
 * @example
 * ```ts
 * expect(checkLinks(ROOT, ['README.md', 'docs/errors.md'], isShipped, new Set())).toEqual([]);
 * ```
 */
export function checkLinks(
  root: string,
  pages: readonly string[],
  isShipped: (path: string) => boolean,
  notYetWritten: ReadonlySet<string>,
): LinkProblem[] {
  const problems: LinkProblem[] = [];
  for (const page of pages) {
    const markdown = readFileSync(join(root, page), 'utf8');
    let fenced = false;
    markdown.split(/\r?\n/).forEach((line, index) => {
      if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
      if (fenced) return;
      for (const match of line.replace(/`[^`]*`/g, '').matchAll(LINK)) {
        const target = match[1]!;
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
        const where = `${page}:${index + 1}: the link to ${target}`;
        const [file, anchor] = target.split('#') as [string, string | undefined];
        const path =
          file === ''
            ? page
            : normalize(join(dirname(page), file))
                .split(sep)
                .join('/');
        if (path.startsWith('..') || relative(root, join(root, path)).startsWith('..')) {
          problems.push({ text: `${where} leaves the repository` });
          continue;
        }
        if (!existsSync(join(root, path))) {
          if (!notYetWritten.has(path)) problems.push({ text: `${where}: ${path} does not exist` });
          continue;
        }
        if (isShipped(page) && !isShipped(path)) {
          problems.push({
            text: `${where}: ${path} is not in the npm package; link a docs/ page or name the file as text`,
          });
        }
        if (anchor && path.endsWith('.md')) {
          const anchors = headingAnchors(readFileSync(join(root, path), 'utf8'));
          if (!anchors.has(anchor)) {
            problems.push({ text: `${where}: ${path} has no heading with the anchor #${anchor}` });
          }
        }
      }
    });
  }
  return problems;
}
