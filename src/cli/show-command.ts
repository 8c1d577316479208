import { Command } from 'commander';
import { decodeValue } from '../codec/decoder';
import { CheckpointError, quote } from '../errors';
import { STORED_CLASSES } from './stored-classes';
import { assertValidName } from '../storage/names';
import { UsageError } from './cli-error';
import { MANIFEST_KEY, summarize } from './checkpoint-origin';
import { context, formatBytes, notFound, withStore } from './command-context';
import { shownName, type Output } from './output';
import { renderValue, toJsonView } from './render-value';
import { parseCount } from './time-spec';

interface ShowOptions {
  raw?: string | boolean;
  depth: string;
}

/**
 * `checkpointable show <id> [key]`: a checkpoint's values decoded and pretty-printed with
 * their types visible, or with `--raw` the bytes as the storage holds them.
 *
 * @example
 * ```ts
 * program.addCommand(showCommand());
 * ```
 */
export function showCommand(): Command {
  return new Command('show')
    .description("print a checkpoint's values (all keys, or one), decoded, with their types")
    .argument('<id>', 'the checkpoint identifier')
    .argument('[key]', 'only this key')
    .option('--raw [encoding]', 'print the stored bytes instead, as hex (default) or base64')
    .option('--depth <n>', 'how deep nested values are printed', '10')
    .addHelpText(
      'after',
      `
Values of classes the bin does not know are shown with their stored class name and fields.

Examples:
  $ checkpointable show order-42
  $ checkpointable show order-42 order --depth 3
  $ checkpointable show order-42 order --raw base64
  $ checkpointable show order-42 --json | jq '.values.order'`,
    )
    .action(async (id: string, key: string | undefined, local: ShowOptions, command: Command) => {
      const { options, out } = context(command);
      const depth = parseCount(local.depth, '--depth');
      const rawOption = local.raw === true ? 'hex' : local.raw || undefined;
      if (rawOption !== undefined && rawOption !== 'hex' && rawOption !== 'base64') {
        throw new UsageError(
          `--raw ${JSON.stringify(rawOption.slice(0, 20))}: use --raw hex or --raw base64.`,
        );
      }
      const raw: 'hex' | 'base64' | undefined = rawOption;
      const names: ['identifier' | 'key', string][] = [['identifier', id]];
      if (key !== undefined) names.push(['key', key]);
      for (const [what, name] of names) {
        try {
          assertValidName(what, name, what === 'key' ? id : undefined);
        } catch (error) {
          throw new UsageError(error instanceof Error ? error.message : String(error));
        }
      }
      await withStore(options, async (store) => {
        const source = raw === undefined ? store.storage : store.bare;
        const saved = await source.loadCheckpoint(id).catch((error: unknown) => {
          throw CheckpointError.is(error, 'NotFound') ? notFound(id, store.display) : error;
        });
        try {
          const keys = await saved.keys();
          if (key !== undefined && !keys.includes(key)) {
            throw new CheckpointError(
              'KeyNotFound',
              `Checkpoint ${quote(id)} has no key ${quote(key)}; it has ${
                keys
                  .filter((k) => k !== MANIFEST_KEY)
                  .map(quote)
                  .join(', ') || 'no keys'
              }.`,
              { identifier: id, key },
            );
          }
          const summary = raw === undefined ? await summarize(saved) : undefined;
          const shown =
            key !== undefined
              ? [key]
              : raw !== undefined
                ? keys
                : keys.filter((k) => k !== MANIFEST_KEY);
          const values: Record<string, unknown> = {};
          if (!out.json) {
            out.line(`checkpoint  ${shownName(id)}`);
            if (summary !== undefined) {
              out.line(
                `created     ${summary.createdAt.toISOString()}` +
                  (summary.copied
                    ? ` (copied; stored here ${summary.storedAt.toISOString()})`
                    : ''),
              );
              if (summary.classes.length > 0) {
                out.line(
                  `classes     ${summary.classes.map((c) => `${shownName(c.name)}@${c.version}`).join(', ')}`,
                );
              }
            } else {
              out.line(
                `stored at   ${saved.createdAt.toISOString()} (bytes at rest, before any wrapper)`,
              );
            }
          }
          for (const k of shown) {
            const bytes = await saved.getBytes(k);
            if (raw !== undefined) {
              if (out.json)
                values[k] = { bytes: bytes.byteLength, [raw]: Buffer.from(bytes).toString(raw) };
              else await printRaw(out, k, bytes, raw);
              continue;
            }
            const value = decodeValue(
              bytes,
              { identifier: id, key: k, classes: STORED_CLASSES },
              { owned: true },
            );
            if (out.json) {
              values[k] = toJsonView(value);
            } else {
              out.line();
              out.line(`key ${shownName(k)} (${formatBytes(bytes.byteLength)})`);
              out.line(renderValue(value, { depth, colors: out.tty }));
            }
          }
          out.data({
            identifier: id,
            ...(summary === undefined
              ? { storedAt: saved.createdAt.toISOString() }
              : {
                  createdAt: summary.createdAt.toISOString(),
                  storedAt: summary.storedAt.toISOString(),
                  copied: summary.copied,
                  classes: summary.classes,
                }),
            values,
          });
        } finally {
          await saved.release();
        }
      });
    });
}

/** A hex dump (offset, 16 bytes, ASCII) or base64 in lines of 76, written in pieces. */
async function printRaw(
  out: Output,
  key: string,
  bytes: Uint8Array,
  encoding: 'hex' | 'base64',
): Promise<void> {
  out.line();
  out.line(`key ${shownName(key)} (${bytes.byteLength} bytes at rest)`);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (encoding === 'base64') {
    // 57 input bytes make one 76-character line; 64 KiB of lines per write.
    for (let at = 0; at < buf.length; at += 57 * 1149) {
      const text = buf.subarray(at, at + 57 * 1149).toString('base64');
      await out.write(text.replace(/(.{76})/g, '$1\n').replace(/\n?$/, '\n'));
    }
    return;
  }
  const lines: string[] = [];
  for (let at = 0; at < buf.length; at += 16) {
    const row = buf.subarray(at, at + 16);
    const hex = [...row].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    const ascii = [...row]
      .map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.'))
      .join('');
    lines.push(`${at.toString(16).padStart(8, '0')}  ${hex.padEnd(47)}  |${ascii}|`);
    if (lines.length === 4096) await out.write(`${lines.splice(0).join('\n')}\n`);
  }
  if (lines.length > 0) await out.write(`${lines.join('\n')}\n`);
}
