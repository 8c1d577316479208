import type { PoolClient } from 'pg';

/**
 * Does nothing: heard in place of an error or outcome that is already reported. A
 * checked-out client listens to 'error' with it, and {@link release} removes exactly it.
 */
export function ignore(): void {}

/** Whether pg still considers the client usable (not ended, not broken by an error). */
export function isHealthy(client: PoolClient): boolean {
  const c = client as PoolClient & { _queryable?: boolean; _ending?: boolean };
  return c._queryable !== false && c._ending !== true;
}

/** Hands a client back to the pool, or destroys it when it failed mid-use. */
export function release(client: PoolClient, broken: boolean): void {
  client.removeListener('error', ignore);
  // The pool re-attaches its own listener before destroying a broken client.
  client.release(broken ? true : undefined);
}
