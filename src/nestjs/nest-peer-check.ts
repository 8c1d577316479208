import { CheckpointError } from '../errors';

const INSTALL = '`npm install @nestjs/common@^11 @nestjs/core@^11`';

/**
 * Checks, before anything of NestJS is loaded, that the optional peers `@nestjs/common`
 * and `@nestjs/core` are installed and at least version 11, so that a missing or old
 * NestJS is one clear `Initialization` error instead of a bare "Cannot find module".
 * Runs once, when `checkpointable/nestjs` is first required.
 * @throws {CheckpointError} `Initialization` naming the missing or old package and the
 *   command that installs it
 * @internal
 */
export function checkNestPeers(load: NodeJS.Require): void {
  for (const name of ['@nestjs/common', '@nestjs/core']) {
    let version: unknown;
    try {
      version = (load(`${name}/package.json`) as { version?: unknown }).version;
    } catch (error) {
      throw new CheckpointError(
        'Initialization',
        `checkpointable/nestjs needs the "${name}" package (NestJS 11), which is not installed; add it to your application with ${INSTALL}.`,
        { cause: error },
      );
    }
    const major = typeof version === 'string' ? Number(version.split('.')[0]) : NaN;
    if (!(major >= 11)) {
      throw new CheckpointError(
        'Initialization',
        `checkpointable/nestjs needs NestJS 11, but "${name}" is version ${String(version)}; upgrade with ${INSTALL}.`,
      );
    }
  }
}

// `require` is that of the compiled CommonJS module, so the peers are looked up from
// where this package is installed, as Node will load them. Vitest's module runner has no
// `require`; the check is left to the CommonJS build there.
if (typeof require === 'function') checkNestPeers(require);
