/**
 * Races a handshake against a timer, for the open() of the database storages: a driver's
 * own connect time-out does not cover every way a server can stay silent (ioredis's
 * covers the TCP connect only; a borrowed pg Pool may have none), and open must never hang.
 *
 * @param work the handshake
 * @param ms how long to wait
 * @param late called with the handshake's result if it arrives after the deadline (to
 *   give back a connection nobody will use)
 * @throws the handshake's own error, or an Error saying `no answer within <ms> ms`
 *
 * @example
 * ```ts
 * const client = await withDeadline(pool.connect(), 5000, (c) => c.release());
 * ```
 */
export async function withDeadline<T>(
  work: Promise<T>,
  ms: number,
  late: (value: T) => void = () => undefined,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let expired = false;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      expired = true;
      reject(new Error(`no answer within ${ms} ms (connectTimeoutMs)`));
    }, ms);
  });
  work.then(
    (value) => {
      if (expired) late(value);
    },
    () => undefined, // after the deadline nobody listens; before it, the race reports it
  );
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
