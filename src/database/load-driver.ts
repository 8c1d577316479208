import { CheckpointError } from '../errors';

/**
 * Loads an optional peer dependency (`pg`, `ioredis`) the moment a storage needs it, so
 * that `checkpointable` itself never requires it: a user of the file storage does not
 * install it, and a user who forgot to gets an error that says what to add.
 *
 * It lives under src/postgres/ (file ownership); the Redis storage uses it as well.
 *
 * @param name the npm package to load
 * @param storage the storage that needs it, for the message
 * @param range the supported versions, for the message
 * @throws {CheckpointError} `Initialization` naming the package and the install command
 *
 * @example
 * ```ts
 * const pg = await loadDriver<typeof import('pg')>('pg', 'PostgresStorage', '^8.11.0');
 * ```
 */
export async function loadDriver<T>(name: string, storage: string, range: string): Promise<T> {
  let loaded: T & { default?: T };
  try {
    loaded = (await import(name)) as T & { default?: T };
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    const missing = code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND';
    throw new CheckpointError(
      'Initialization',
      missing
        ? `${storage} needs the "${name}" package, which is not installed; add it to your application with \`npm install ${name}@"${range}"\`.`
        : `${storage} could not load the "${name}" package (${String(error)}); reinstall it with \`npm install ${name}@"${range}"\`.`,
      { cause: error },
    );
  }
  // A CommonJS package reached through import() sits under `default`, under Vitest and
  // under tsc's CommonJS output alike; named exports may or may not be copied beside it.
  return loaded.default ?? loaded;
}
