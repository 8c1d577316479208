import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Checkpointable, CheckpointField, CheckpointManager, FileStorage } from 'checkpointable';
import { startChild } from '../storage/child-process';

const SERVICE = 'test/fixtures/series/signal-service.ts';

/** The fixture service's state, read back under the name its series stores it with. */
@Checkpointable({ name: 'CheckpointedState:signals' })
class Counter {
  @CheckpointField() count: number = 0;
}

async function latestCount(folder: string): Promise<number | undefined> {
  const manager = new CheckpointManager(await FileStorage.open(folder));
  try {
    return (await manager.series('signals').restoreLatest('state', Counter))?.count;
  } finally {
    await manager.close();
  }
}

describe('signals: true, in real processes', () => {
  it('SIGTERM saves the state and exits with 143; SIGINT with 130', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'cp-signals-'));
    const first = startChild(SERVICE, [folder, 'normal']);
    await first.waitFor((line) => line === 'ready 0');
    first.process.kill('SIGTERM');
    expect(await first.exited).toBe(143);
    expect(await latestCount(folder)).toBe(1);

    const second = startChild(SERVICE, [folder, 'normal']);
    await second.waitFor((line) => line === 'ready 1');
    second.process.kill('SIGINT');
    expect(await second.exited).toBe(130);
    expect(await latestCount(folder)).toBe(2);
  });

  it('a process whose event loop runs empty without stop() still runs the final save', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'cp-signals-'));
    const child = startChild(SERVICE, [folder, 'natural']);
    expect(await child.exited).toBe(0);
    expect(child.lines).toEqual(['ready 0']);
    expect(await latestCount(folder)).toBe(1);
  });

  it('a second signal exits at once while the final save hangs', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'cp-signals-'));
    const child = startChild(SERVICE, [folder, 'hold']);
    await child.waitFor((line) => line === 'ready 0');
    child.process.kill('SIGTERM');
    // The first signal is being handled (its save never finishes); the second ends it.
    const raced = await Promise.race([
      child.exited,
      new Promise((resolve) => setTimeout(() => resolve('still running'), 1_000)),
    ]);
    expect(raced).toBe('still running');
    child.process.kill('SIGTERM');
    expect(await child.exited).toBe(143);
    expect(await latestCount(folder)).toBeUndefined();
  });

  it('a failed final save is reported and the exit code is 1', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'cp-signals-'));
    const child = startChild(SERVICE, [folder, 'fail']);
    let stderr = '';
    child.process.stderr!.on('data', (chunk: string) => (stderr += chunk));
    await child.waitFor((line) => line === 'ready 0');
    child.process.kill('SIGTERM');
    expect(await child.exited).toBe(1);
    expect(stderr).toContain(
      'save failed: Cannot commit checkpoint "@series:signals:000000000001"',
    );
  });
});
