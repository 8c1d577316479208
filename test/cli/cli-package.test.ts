import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileStorage } from 'checkpointable';
import { ROOT, tempDir } from './cli-harness';

const work = tempDir('cp-cli-pack-');
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the packed package', () => {
  it('builds on pack, installs into a fresh project, and `npx checkpointable` runs', async () => {
    // prepack builds dist/ first, so a pack from a clean checkout holds the bin.
    execFileSync('npm', ['pack', '--pack-destination', work], { cwd: ROOT, stdio: 'pipe' });
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'))!;
    expect(tarball).toMatch(/^checkpointable-\d+\.\d+\.\d+\.tgz$/);
    const app = join(work, 'app');
    mkdirSync(app);
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({ name: 'app', version: '1.0.0', private: true }),
    );
    // Only the npm registry is reachable here, and the dependencies are in the npm cache.
    execFileSync(
      'npm',
      ['install', join(work, tarball), '--prefer-offline', '--no-audit', '--no-fund'],
      { cwd: app, stdio: 'pipe' },
    );

    const npx = (args: string[]) =>
      spawnSync('npx', ['--no-install', 'checkpointable', ...args], { cwd: app, encoding: 'utf8' });
    const help = npx(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage: checkpointable [options] [command]');
    expect(npx(['--version']).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);

    const store = join(work, 'store');
    const storage = await FileStorage.open(store);
    const draft = await storage.createCheckpoint('nightly');
    await draft.put('settings', { retries: 3 });
    await (await storage.commitCheckpoint(draft)).release();
    await storage.close();
    const show = npx(['show', 'nightly', 'settings', '--storage', `file:${store}`]);
    expect(show.stderr).toBe('');
    expect(show.status).toBe(0);
    expect(show.stdout).toContain('{ retries: 3 }');
  });
});
