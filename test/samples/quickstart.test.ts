import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..');

describe('samples/quickstart.ts (npm start)', () => {
  it('round-trips the Person through memory and through a reopened FileStorage', () => {
    const out = execFileSync(
      process.execPath,
      ['-r', '@swc-node/register', 'samples/quickstart.ts'],
      {
        cwd: ROOT,
        encoding: 'utf8',
      },
    );
    expect(out.trim().split('\n')).toEqual([
      'memory: John Smith, 50',
      'file:   John Smith, 50 (checkpoints: Checkpoint)',
    ]);
  });
});
