import { constants, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { quote } from '../errors';
import { openRegularFile, readExactly } from './durable-fs';
import { fileName } from './file-names';
import { openPack } from './file-entries';
import { nameProblem } from '../storage/names';

/** A hashed file name: `~` and the SHA-256 of the identifier, in hex. */
const HASHED_NAME = /^~[0-9a-f]{64}$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** Packs read at once when the index does not know a hashed name. */
const PARALLEL_READS = 16;
/** An index larger than this is not read (and is rewritten from the packs). */
const INDEX_MAX_BYTES = 512 * 1024 * 1024;

/**
 * The identifiers behind hashed file names (`~<sha256>`, used for identifiers whose
 * encoded name would be too long), so that listing does not open every such pack.
 *
 * `<dir>/hashed-names` holds one line per hashed commit, `<name> <identifier>` in UTF-8,
 * appended after the commit is published (an identifier has no control characters, so no
 * line break; one with a lone surrogate, which UTF-8 cannot hold, is not indexed). It is a hint, never trusted: a line counts only
 * when the SHA-256 of its identifier is the name, and the name determines the identifier, so
 * a line, once it checks, is true for any pack that ever has that name. That is why it
 * needs no lock and no fsync: concurrent appends, a torn last line, a lost line or stale
 * lines of removed checkpoints cost at most a pack read. A name it does not know is
 * resolved from the pack's header and appended. It is rewritten, without stale lines, when
 * they outnumber the live ones.
 *
 * @example
 * ```ts
 * const names = new HashedNames(dir, committedDir);
 * const resolved = await names.resolve(['~3f…'], false); // Map name -> identifier or reason
 * ```
 */
export class HashedNames {
  private readonly known = new Map<string, string>();
  private readonly indexPath: string;

  /**
   * @param dir the store's folder
   * @param committedDir its `committed/` folder
   */
  constructor(
    dir: string,
    private readonly committedDir: string,
  ) {
    this.indexPath = join(dir, 'hashed-names');
  }

  /** Records the identifier of a hashed name just committed. */
  async remember(identifier: string): Promise<void> {
    const name = fileName(identifier);
    this.known.set(name, identifier);
    await this.append([[name, identifier]]);
  }

  /**
   * The identifiers behind the hashed names `names`, and the entries that are damaged,
   * with why. With `deep`, every pack is opened and checked, whatever the index says.
   */
  async resolve(
    names: readonly string[],
    deep: boolean,
  ): Promise<{ identifiers: string[]; damaged: { name: string; reason: string }[] }> {
    const identifiers: string[] = [];
    const damaged: { name: string; reason: string }[] = [];
    let unknown: string[] = [];
    for (const name of names) {
      const known = deep ? undefined : this.known.get(name);
      if (known !== undefined) identifiers.push(known);
      else unknown.push(name);
    }
    let indexLines = 0;
    if (unknown.length > 0 && !deep) {
      const index = await this.readIndex(new Set(unknown));
      indexLines = index.lines;
      const still: string[] = [];
      for (const name of unknown) {
        const identifier = index.found.get(name);
        if (identifier === undefined) {
          still.push(name);
        } else {
          this.known.set(name, identifier);
          identifiers.push(identifier);
        }
      }
      unknown = still;
    }
    const learned: [string, string][] = [];
    const fromPacks = unknown.filter((name) => {
      if (HASHED_NAME.test(name)) return true;
      damaged.push({ name, reason: 'its name is not one FileStorage writes' });
      return false;
    });
    for (let i = 0; i < fromPacks.length; i += PARALLEL_READS) {
      await Promise.all(
        fromPacks.slice(i, i + PARALLEL_READS).map(async (name) => {
          const result = await this.fromPack(name);
          if (typeof result !== 'string') {
            damaged.push({ name, reason: result.reason });
            return;
          }
          identifiers.push(result);
          if (!this.known.has(name)) {
            this.known.set(name, result);
            learned.push([name, result]);
          }
        }),
      );
    }
    // Stale lines of removed checkpoints outnumber the live ones: write the live ones anew.
    if (indexLines > 2 * identifiers.length + 1000) {
      await this.rewrite(identifiers.map((identifier) => [fileName(identifier), identifier]));
    } else {
      await this.append(learned);
    }
    return { identifiers, damaged };
  }

  /** The identifier in the header of pack `name`, checked against the name, or why not. */
  private async fromPack(name: string): Promise<string | { reason: string }> {
    const path = join(this.committedDir, name);
    let opened;
    try {
      opened = await openPack(path, name);
    } catch (error) {
      return { reason: error instanceof Error ? error.message : String(error) };
    }
    if (opened === undefined) return { reason: 'it was removed while it was being listed' };
    await opened.handle.close();
    const { identifier } = opened.header;
    const problem = nameProblem(identifier);
    if (problem !== undefined) {
      return {
        reason: `its header names ${quote(identifier)}, not a valid identifier: ${problem}`,
      };
    }
    if (fileName(identifier) !== name) {
      return { reason: `its header names ${quote(identifier)}, whose file name is not ${name}` };
    }
    return identifier;
  }

  /**
   * The index's lines that check (see the class comment), for the names in `wanted` only
   * (checking costs a hash); empty when there is no index.
   */
  private async readIndex(
    wanted: ReadonlySet<string>,
  ): Promise<{ found: Map<string, string>; lines: number }> {
    const found = new Map<string, string>();
    let text: string;
    try {
      const { handle, stat } = await openRegularFile(this.indexPath);
      try {
        if (stat.size > INDEX_MAX_BYTES) return { found, lines: Infinity };
        text = (await readExactly(handle, 0, stat.size)).toString('utf8');
      } finally {
        await handle.close();
      }
    } catch {
      return { found, lines: 0 }; // no index, or an unreadable one: the packs are read instead
    }
    const lines = text.split('\n');
    for (const line of lines) {
      if (line.charCodeAt(65) !== 0x20) continue; // a torn or foreign line
      const name = line.slice(0, 65);
      if (!wanted.has(name)) continue;
      const identifier = line.slice(66);
      if (nameProblem(identifier) === undefined && fileName(identifier) === name) {
        found.set(name, identifier);
      }
    }
    return { found, lines: lines.length - 1 };
  }

  private async append(records: readonly [string, string][]): Promise<void> {
    const text = indexLines(records);
    if (text.length === 0) return;
    try {
      const handle = await fs.open(
        this.indexPath,
        constants.O_WRONLY |
          constants.O_APPEND |
          constants.O_CREAT |
          constants.O_NOFOLLOW |
          constants.O_NONBLOCK, // a FIFO in its place fails (ENXIO) rather than blocks
        0o600,
      );
      try {
        await handle.write(text);
      } finally {
        await handle.close();
      }
    } catch {
      // The index only saves pack reads; a line it lacks is read from the pack header. A
      // commit that is published must not fail for it.
    }
  }

  /** Rewrites the index with the `live` records only. */
  private async rewrite(live: readonly [string, string][]): Promise<void> {
    const text = indexLines(live);
    const temp = `${this.indexPath}.${process.pid}.tmp`;
    try {
      await fs.writeFile(temp, text, { mode: 0o600, flag: 'wx' });
      await fs.rename(temp, this.indexPath);
    } catch {
      await fs.unlink(temp).catch(() => undefined); // a lost rewrite costs pack reads only
    }
  }
}

/** The index lines for `records`, leaving out identifiers UTF-8 cannot hold. */
function indexLines(records: readonly (readonly [string, string])[]): string {
  return records
    .filter(([, identifier]) => !LONE_SURROGATE.test(identifier))
    .map(([name, identifier]) => `${name} ${identifier}\n`)
    .join('');
}
