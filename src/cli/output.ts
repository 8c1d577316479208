import { SingleBar } from 'cli-progress';

/**
 * How a command writes: data on stdout, and progress only where a person watches. With
 * `--json` stdout carries nothing but the one JSON document a script parses; on a terminal
 * progress is a bar; otherwise (a pipe, a log file) it is one plain line per item.
 *
 * @example
 * ```ts
 * const out = new Output({ json: false });
 * out.line(`checkpoint ${shownName(id)}`);
 * ```
 */
export class Output {
  /** Whether the command prints a JSON document instead of lines. */
  readonly json: boolean;
  /** Whether stdout is a terminal. */
  readonly tty: boolean;

  constructor(options: { json?: boolean }, stream: NodeJS.WriteStream = process.stdout) {
    this.json = options.json === true;
    this.tty = stream.isTTY === true;
    this.stream = stream;
  }

  private readonly stream: NodeJS.WriteStream;

  /** Writes one line of text output (never under `--json`). */
  line(text = ''): void {
    if (!this.json) this.stream.write(`${text}\n`);
  }

  /**
   * Writes a piece of a long text (a hex dump of a large value), waiting while the reader
   * is behind, so that a slow pipe never makes the whole text pile up in memory.
   */
  async write(text: string): Promise<void> {
    if (!this.stream.write(text)) {
      await new Promise<void>((resolve) => this.stream.once('drain', resolve));
    }
  }

  /** Writes the JSON document (only under `--json`). */
  data(value: unknown): void {
    if (this.json) this.stream.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** A progress display over `total` items, labelled `label` (`verify`, `copy`, ...). */
  progress(label: string, total: number): Progress {
    if (this.tty && !this.json) {
      const bar = new SingleBar({
        format: `${label} [{bar}] {value}/{total} {name}`,
        stream: this.stream,
        hideCursor: true,
        clearOnComplete: false,
      });
      bar.start(total, 0, { name: '' });
      return new Progress(label, total, this, bar);
    }
    return new Progress(label, total, this, undefined);
  }
}

/**
 * Progress over a known number of items. On a terminal it moves a bar and holds back the
 * lines a command reports until the bar is done, so they do not tear it.
 *
 * @example
 * ```ts
 * const progress = out.progress('verify', ids.length);
 * for (const id of ids) { await check(id); progress.tick(id, 'ok'); }
 * progress.stop();
 * ```
 */
export class Progress {
  private done = 0;
  private readonly held: string[] = [];

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly out: Output,
    private readonly bar: SingleBar | undefined,
  ) {}

  /** One more item done: `name` is what it was, `status` how it went. */
  tick(name: string, status: string): void {
    this.done++;
    if (this.bar) this.bar.update(this.done, { name: shownName(name) });
    else this.out.line(`${this.label} ${this.done}/${this.total} ${shownName(name)} ${status}`);
  }

  /** A line to print now, or after the bar when there is one. */
  report(text: string): void {
    if (this.bar) this.held.push(text);
    else this.out.line(text);
  }

  /** Ends the bar, then prints what was held back. */
  stop(): void {
    if (!this.bar) return;
    this.bar.stop();
    for (const text of this.held.splice(0)) this.out.line(text);
  }
}

/**
 * An identifier or key as output shows it: as it is when it is plain, JSON-quoted when it
 * holds spaces, quotes or control characters (which could otherwise move the cursor or
 * fake another line).
 *
 * @example
 * ```ts
 * shownName('order-42'); // 'order-42'
 * shownName('a b');      // '"a b"'
 * ```
 */
export function shownName(name: string): string {
  // eslint-disable-next-line no-control-regex
  return /^[^\s"'\u0000-\u001f\u007f-\u009f\u2028\u2029]+$/.test(name) ? name : quoteName(name);
}

/**
 * A name JSON-quoted with every control character escaped: JSON itself leaves DEL, the C1
 * controls and the line separators U+2028/U+2029 as they are, so those are escaped too.
 *
 * @example
 * ```ts
 * quoteName('a\u2028b'); // '"a\\u2028b"'
 * ```
 */
export function quoteName(name: string): string {
  return JSON.stringify(name).replace(
    /[\u007f-\u009f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
