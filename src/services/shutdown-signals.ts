/** The signals `signals: true` handles, with the exit code of a process they end. */
const SIGNALS = { SIGTERM: 143, SIGINT: 130 } as const;

/**
 * Installs SIGTERM and SIGINT handlers: the first signal runs `shutdown` (the final saves)
 * and exits with 128 + the signal number (1 when `shutdown` failed); a second signal
 * exits at once. Returns the function that removes the handlers.
 * @internal
 */
export function installShutdownSignals(shutdown: () => Promise<void>): () => void {
  let stopping = false;
  const handlers = new Map<NodeJS.Signals, () => void>();
  for (const [signal, code] of Object.entries(SIGNALS) as [NodeJS.Signals, number][]) {
    const handler = () => {
      if (stopping) process.exit(code);
      stopping = true;
      shutdown().then(
        () => process.exit(code),
        () => process.exit(1),
      );
    };
    handlers.set(signal, handler);
    process.on(signal, handler);
  }
  return () => {
    for (const [signal, handler] of handlers) process.removeListener(signal, handler);
  };
}
