/** What `closing` rejects with: each waiting caller then gets its own `Released` error. */
export const CLOSED = Symbol('closed');

/**
 * What close() of a database storage waits for and whom it stops: the work under way
 * (each operation enters when it starts and leaves when it ends), and a `closing` promise
 * that waits race against, which rejects with {@link CLOSED} once close() stops them.
 *
 * @example
 * ```ts
 * const gate = new CloseGate();
 * const running = sendQuery();
 * gate.enter(running);
 * try {
 *   await Promise.race([running, gate.closing]); // rejects with CLOSED after stop()
 * } finally {
 *   gate.leave(running);
 * }
 * // in close():
 * gate.stop();
 * await gate.settled();
 * ```
 */
export class CloseGate {
  /** Rejects with {@link CLOSED} when {@link stop} is called, failing every wait raced against it. */
  readonly closing: Promise<never>;
  private readonly active = new Set<Promise<unknown>>();
  private stopWaiting!: (reason: typeof CLOSED) => void;

  constructor() {
    this.closing = new Promise<never>((_, reject) => (this.stopWaiting = reject));
    this.closing.catch(() => undefined); // heard by whoever races it; unraced, it must not be unhandled
  }

  /** Counts `running` as work under way until {@link leave}. */
  enter(running: Promise<unknown>): void {
    this.active.add(running);
  }

  /** Ends what {@link enter} began. */
  leave(running: Promise<unknown>): void {
    this.active.delete(running);
  }

  /** Fails every wait raced against {@link closing}. */
  stop(): void {
    this.stopWaiting(CLOSED);
  }

  /** Resolves once no work is under way, including work that enters meanwhile. */
  async settled(): Promise<void> {
    while (this.active.size > 0) await Promise.allSettled([...this.active]);
  }
}
