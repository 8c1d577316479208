import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..');

function openWithout(backend: 'postgres' | 'redis'): { kind?: string; message?: string } {
  const result = spawnSync(
    process.execPath,
    ['-r', '@swc-node/register', join(ROOT, 'test/fixtures/db/open-without-driver.ts'), backend],
    { cwd: ROOT, encoding: 'utf8' },
  );
  expect(result.status, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as { kind?: string; message?: string };
}

describe('a user who did not install the driver', () => {
  it('gets Initialization naming pg and the install command from PostgresStorage.open()', () => {
    expect(openWithout('postgres')).toEqual({
      kind: 'Initialization',
      message:
        'PostgresStorage needs the "pg" package, which is not installed; add it to your application with `npm install pg@"^8.11.0"`.',
    });
  });

  it('gets Initialization naming ioredis and the install command from RedisStorage.open()', () => {
    expect(openWithout('redis')).toEqual({
      kind: 'Initialization',
      message:
        'RedisStorage needs the "ioredis" package, which is not installed; add it to your application with `npm install ioredis@"^5.3.0 || ^6.0.0"`.',
    });
  });
});
