import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A real, small tmpfs mounted for one test, so that "disk full" and "read-only file
 * system" are the kernel's own ENOSPC and EROFS rather than a mocked fs. Needs root
 * (CI runs as root); elsewhere `mountTmpfs` returns a reason and the test skips.
 */
export interface Tmpfs {
  dir: string;
  remountReadOnly(): void;
  unmount(): void;
}

export function mountTmpfs(sizeKiB: number): Tmpfs | string {
  if (process.getuid?.() !== 0)
    return 'mounting a tmpfs needs root; run the tests as root to include it';
  const dir = mkdtempSync(join(tmpdir(), 'cp-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKiB}k,mode=0700`, 'tmpfs', dir], {
      stdio: 'pipe',
    });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    return `cannot mount a tmpfs here (${String((error as Error).message).split('\n')[0]})`;
  }
  return {
    dir,
    remountReadOnly: () => execFileSync('mount', ['-o', 'remount,ro', dir], { stdio: 'pipe' }),
    unmount: () => {
      execFileSync('umount', [dir], { stdio: 'pipe' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
