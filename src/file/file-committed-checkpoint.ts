import type { promises as fs } from 'node:fs';
import { BaseCommittedCheckpoint, keyNotFound } from '../storage/base-checkpoints';
import { ioError, readExactly } from './durable-fs';
import type { PackHeader } from './file-pack';

/**
 * A committed checkpoint of a FileStorage: its pack header, read once, and the pack file
 * itself, held open until `release()`.
 *
 * Holding the descriptor is what makes the handle read the checkpoint it loaded: another
 * process (or another storage object) may remove the checkpoint and commit a new one under
 * the same name, and reopening by name would then read the new file at the old offsets. The
 * open descriptor keeps the removed file readable until it is closed. The alternative,
 * reopening and comparing the file's identity on every read, costs an open, an fstat and a
 * close per `get` (see the bench row "get() on a loaded handle") and cannot tell a new file
 * that reuses the freed inode number from the old one.
 *
 * The price is one descriptor per live handle: 10,000 handles held at once need a limit
 * above 10,000 (`ulimit -n`; Node.js raises its soft limit to the hard limit at start).
 * A load beyond the limit fails with `Io` (EMFILE) and leaves nothing open; releasing
 * handles, or `await using`, gives the descriptors back.
 *
 * @example
 * ```ts
 * const saved = await storage.loadCheckpoint('order-42'); // a FileCommittedCheckpoint inside
 * await saved.get('order');
 * await saved.release(); // closes the file
 * ```
 */
export class FileCommittedCheckpoint extends BaseCommittedCheckpoint {
  /**
   * @param path where the pack was published (for messages)
   * @param handle the open pack file; this handle closes it on release
   * @param header the pack's parsed header
   */
  constructor(
    private readonly path: string,
    private readonly handle: fs.FileHandle,
    private readonly header: PackHeader,
  ) {
    super(header.identifier, new Date(header.createdAt), header.label);
  }

  protected async readBytes(key: string): Promise<Uint8Array> {
    const entry = this.header.keys.get(key);
    if (entry === undefined) throw keyNotFound(this.identifier, key);
    try {
      return await readExactly(this.handle, this.header.dataStart + entry[0], entry[1]);
    } catch (error) {
      throw ioError('read', this.path, error, { identifier: this.identifier, key });
    }
  }

  protected async listKeys(): Promise<string[]> {
    return [...this.header.keys.keys()];
  }

  protected override async onRelease(): Promise<void> {
    await this.handle.close();
  }
}
