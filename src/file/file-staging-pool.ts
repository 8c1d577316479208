import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { createExclusive } from './durable-fs';

/** Files kept ready: enough for a burst of concurrent commits to find most of them made. */
const STAGING_POOL_SIZE = 4;

/**
 * Empty staging files FileStorage creates ahead of its commits, hidden in `committed/`.
 *
 * Why: the fsync of a file created just now costs the journal the new inode, its
 * allocation and the folder's new entry; the fsync of a file that already existed at the
 * last journal commit costs only its new size and data. On ext4 that makes a 1 KiB durable
 * commit about a third cheaper (measured: 0.77 ms against 0.51 ms, with an fdatasync'd
 * append at 0.24 ms). A file is created when one is taken, so by the time it is used the
 * commits in between have made its creation durable.
 *
 * A pooled file is empty and open; a commit writes it from offset 0, and never gives it
 * back: it becomes the committed checkpoint (linked under its name), or is deleted when the
 * commit fails. The files carry this process's tag, so a later open deletes those of a
 * process that died ({@link FileStorage} sweeps hidden staging names), and `close()`
 * deletes the rest. Listing never shows them.
 *
 * @example
 * ```ts
 * const pool = new StagingPool('/var/cp/committed', `${host}-${process.pid}`);
 * const { path, handle } = await pool.take();
 * ```
 */
export class StagingPool {
  private readonly ready: { path: string; handle: fs.FileHandle }[] = [];
  private filling = 0;
  private closed = false;
  private readonly pending = new Set<Promise<void>>();

  /**
   * @param folder where the staging files are made (`committed/`)
   * @param tag this process's tag, `<host>-<pid>`
   * @param size how many files to keep ready
   */
  constructor(
    private readonly folder: string,
    private readonly tag: string,
    private readonly size = STAGING_POOL_SIZE,
  ) {}

  /**
   * An empty staging file, open for writing and reading: a ready one, or a new one when
   * none is ready. Starts making its replacement.
   * @throws the Node.js error creating a new file
   */
  async take(): Promise<{ path: string; handle: fs.FileHandle }> {
    const taken = this.ready.shift();
    this.refill();
    if (taken !== undefined) return taken;
    const path = this.newPath();
    return { path, handle: await createExclusive(path) };
  }

  /** A new hidden staging name; FileStorage's sweep knows the pattern. */
  newPath(): string {
    return join(this.folder, `.${this.tag}-${randomBytes(8).toString('hex')}.pack`);
  }

  private refill(): void {
    while (!this.closed && this.ready.length + this.filling < this.size) {
      this.filling++;
      const path = this.newPath();
      const made = createExclusive(path).then(
        async (handle) => {
          if (this.closed) await discardFile(path, handle);
          else this.ready.push({ path, handle });
        },
        // Only an optimization: a commit that finds no ready file creates its own, and
        // reports the error that creating it raises.
        () => undefined,
      );
      const settled = made.finally(() => {
        this.filling--;
        this.pending.delete(settled);
      });
      this.pending.add(settled);
    }
  }

  /** Deletes the ready files and stops making more. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.pending]);
    await Promise.all(this.ready.splice(0).map(({ path, handle }) => discardFile(path, handle)));
  }
}

async function discardFile(path: string, handle: fs.FileHandle): Promise<void> {
  await handle.close().catch(() => undefined);
  await fs.unlink(path).catch(() => undefined);
}
