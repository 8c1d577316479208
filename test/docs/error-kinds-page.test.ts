import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHECKPOINT_ERROR_KINDS } from 'checkpointable';

const ROOT = join(__dirname, '..', '..');

describe('docs/errors.md', () => {
  it('has one table row for every error kind, and none for a kind that does not exist', () => {
    const page = readFileSync(join(ROOT, 'docs', 'errors.md'), 'utf8');
    const rows = [...page.matchAll(/^\|\s*`(\w+)`\s*\|/gm)].map((m) => m[1]);
    expect(rows).toEqual([...CHECKPOINT_ERROR_KINDS]);
  });
});
