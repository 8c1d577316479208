import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { manualCodeBlocks } from './markdown-code-blocks';
import { typeCheckBlocks } from './type-check-blocks';

const ROOT = join(__dirname, '..', '..');

describe('the manual (README.md and docs/*.md)', () => {
  const blocks = manualCodeBlocks(ROOT);

  it('has ts code blocks to check, the README quick start among the runnable ones', () => {
    expect(blocks.length).toBeGreaterThan(20);
    expect(blocks.some((b) => b.file === 'README.md' && b.runnable)).toBe(true);
  });

  it('type-checks every ts code block against the package', () => {
    const problems = typeCheckBlocks(ROOT, blocks).map((p) => p.text);
    expect(problems, problems.join('\n')).toEqual([]);
  });
});
