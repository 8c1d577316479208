import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkLinks, headingAnchors } from './manual-links';
import { manualPages } from './markdown-code-blocks';

const ROOT = join(__dirname, '..', '..');

/**
 * Pages the README's manual list links to that are written alongside this one; a link to one
 * of them counts as broken once the page exists and the link is wrong, and is only excused
 * while the file is absent.
 */
const PAGES_WRITTEN_ALONGSIDE = new Set<string>();

/** Whether a repository path ships in the npm package (`files` of package.json). */
function shippedBy(root: string): (path: string) => boolean {
  const { files } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    files: string[];
  };
  return (path) => files.some((entry) => path === entry || path.startsWith(`${entry}/`));
}

describe('the links of the manual (README.md, docs/*.md, bench/README.md)', () => {
  it('links only to files and headings that exist, and from the package only into it', () => {
    const pages = [...manualPages(ROOT), 'bench/README.md'];
    const problems = checkLinks(ROOT, pages, shippedBy(ROOT), PAGES_WRITTEN_ALONGSIDE);
    expect(problems.map((p) => p.text)).toEqual([]);
    expect(shippedBy(ROOT)('docs/errors.md')).toBe(true);
  });
});

describe('the link check itself', () => {
  it('names headings as GitHub anchors them', () => {
    const anchors = headingAnchors(
      '# FileStorage, the embedded default\n## What `restore` does\n```sh\n# not a heading\n```\n## Order\n## Order\n',
    );
    expect([...anchors]).toEqual([
      'filestorage-the-embedded-default',
      'what-restore-does',
      'order',
      'order-1',
    ]);
  });

  it('reports a missing file, a missing anchor, and a link out of the package', () => {
    const root = mkdtempSync(join(tmpdir(), 'checkpointable-links-'));
    try {
      mkdirSync(join(root, 'docs'));
      writeFileSync(join(root, 'docs', 'a.md'), '# A\n## Keys and rotation\n');
      writeFileSync(join(root, 'src.ts'), '');
      writeFileSync(
        join(root, 'README.md'),
        [
          '[ok](docs/a.md#keys-and-rotation) [web](https://example.org/x)',
          '[gone](docs/b.md) [anchor](docs/a.md#rotation)',
          '[source](src.ts) `[in code](nowhere.md)`',
          '[later](docs/later.md)',
        ].join('\n'),
      );
      const shipped = (path: string) => path === 'README.md' || path.startsWith('docs/');
      expect(
        checkLinks(root, ['README.md'], shipped, new Set(['docs/later.md'])).map((p) => p.text),
      ).toEqual([
        'README.md:2: the link to docs/b.md: docs/b.md does not exist',
        'README.md:2: the link to docs/a.md#rotation: docs/a.md has no heading with the anchor #rotation',
        'README.md:3: the link to src.ts: src.ts is not in the npm package; link a docs/ page or name the file as text',
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
