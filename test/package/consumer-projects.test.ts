import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..');

/**
 * The package as a user meets it: `npm pack` (whose prepack builds), the tarball installed
 * into a new project with TypeScript 5, and that project compiled with the two module
 * settings Nest and Node users have (classic `commonjs`, which implies node10 resolution,
 * and `nodenext`) and run with plain node.
 */
describe('the packed package in a consumer project', () => {
  let project: string;
  let packs: string;
  let files: string[];

  // The consumer's node_modules is tens of megabytes: never left behind.
  afterAll(() => {
    for (const dir of [project, packs]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  beforeAll(() => {
    packs = mkdtempSync(join(tmpdir(), 'cp-pack-'));
    const packed = JSON.parse(
      execFileSync('npm', ['pack', '--json', '--pack-destination', packs], {
        cwd: ROOT,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    ) as { filename: string; files: { path: string }[] }[];
    files = packed[0].files.map((f) => f.path);
    project = mkdtempSync(join(tmpdir(), 'cp-consumer-'));
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }),
    );
    // From npm's cache when it holds them; only the npm registry is asked otherwise.
    execFileSync(
      'npm',
      [
        'install',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        join(packs, packed[0].filename),
        'typescript@5',
        '@types/node@20',
        '@nestjs/common@11',
        '@nestjs/core@11',
        'pg@8',
        '@types/pg@8',
        'ioredis@5',
      ],
      { cwd: project, stdio: 'pipe' },
    );
    mkdirSync(join(project, 'src'));
    writeFileSync(join(project, 'src', 'app.ts'), APP);
    writeFileSync(join(project, 'src', 'esm.mts'), ESM);
    writeFileSync(join(project, 'tsconfig.node10.json'), JSON.stringify(NODE10, null, 2));
    writeFileSync(join(project, 'tsconfig.nodenext.json'), JSON.stringify(NODENEXT, null, 2));
  }, 600_000);

  function tsc(config: string): string {
    try {
      return execFileSync(join(project, 'node_modules/.bin/tsc'), ['-p', config], {
        cwd: project,
        encoding: 'utf8',
      });
    } catch (error) {
      const { stdout } = error as { stdout?: string };
      throw new Error(`tsc -p ${config} failed:\n${stdout ?? String(error)}`, { cause: error });
    }
  }

  function run(file: string): unknown {
    return JSON.parse(
      execFileSync(process.execPath, [file], { cwd: project, encoding: 'utf8' }).trim(),
    );
  }

  it('ships the build, its typings and the docs, nothing else, with dist/ rebuilt by prepack', () => {
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/nestjs/index.d.ts');
    expect(files).toContain('docs/nestjs.md');
    expect(files).toContain('docs/storage-urls.md');
    expect(
      files.filter((f) => !/^(dist\/|docs\/|README\.md$|package\.json$|LICENSE)/.test(f)),
    ).toEqual([]);
  });

  it('type-checks every subpath with TypeScript 5 and "module": "commonjs" (node10), and runs', () => {
    expect(
      execFileSync(join(project, 'node_modules/.bin/tsc'), ['-v'], { encoding: 'utf8' }),
    ).toMatch(/^Version 5\./);
    expect(tsc('tsconfig.node10.json')).toBe('');
    expect(run('out/app.js')).toEqual({ count: 3, isTally: true, audited: ['a'] });
  });

  it('type-checks with "module": "nodenext", from CommonJS and from ES modules, and runs', () => {
    expect(tsc('tsconfig.nodenext.json')).toBe('');
    expect(run('out-next/app.js')).toEqual({ count: 3, isTally: true, audited: ['a'] });
    expect(run('out-next/esm.mjs')).toEqual({ n: 1, module: 'CheckpointModule' });
  });
});

const COMPILER = {
  target: 'ES2022',
  strict: true,
  experimentalDecorators: true,
  emitDecoratorMetadata: true,
  types: ['node'],
};
const NODE10 = {
  compilerOptions: { ...COMPILER, module: 'commonjs', outDir: 'out' },
  include: ['src/app.ts'],
};
const NODENEXT = {
  compilerOptions: {
    ...COMPILER,
    module: 'nodenext',
    moduleResolution: 'nodenext',
    outDir: 'out-next',
  },
  include: ['src/app.ts', 'src/esm.mts'],
};

/** A Nest application context with two storages, importing every runtime subpath. */
const APP = `import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Checkpointable, CheckpointField, CheckpointManager, type Storage } from 'checkpointable';
import { PostgresStorage, type PostgresStorageOptions } from 'checkpointable/postgres';
import { RedisStorage, type RedisStorageOptions } from 'checkpointable/redis';
import { CheckpointModule, InjectCheckpointManager, InjectCheckpointStorage } from 'checkpointable/nestjs';

@Checkpointable()
class Tally {
  @CheckpointField() count: number = 0;
}

@Injectable()
class TallyService {
  constructor(
    readonly manager: CheckpointManager,
    @InjectCheckpointManager('audit') readonly audit: CheckpointManager,
    @InjectCheckpointStorage('audit') readonly auditStorage: Storage,
  ) {}
}

@Module({
  imports: [
    CheckpointModule.forRoot({ storage: 'memory:', wrappers: ['checksum', 'guard'] }),
    CheckpointModule.forRoot({ name: 'audit', storage: 'memory:' }),
  ],
  providers: [TallyService],
})
class AppModule {}

// Typed only: opening them needs a server.
export const drivers: [typeof PostgresStorage, typeof RedisStorage] = [PostgresStorage, RedisStorage];
export const options: [PostgresStorageOptions, RedisStorageOptions] = [{ table: 't' }, { prefix: 'p:' }];

async function main(): Promise<void> {
  const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
  const service = app.get(TallyService);
  const tally = new Tally();
  tally.count = 3;
  await service.manager.save('t', { tally });
  await service.audit.save('a', { n: 1 });
  const back = await service.manager.restore('t', 'tally', Tally);
  const audited = await service.auditStorage.checkpointIdentifiers();
  await app.close();
  console.log(JSON.stringify({ count: back.count, isTally: back instanceof Tally, audited }));
}

void main();
`;

/** An ES module consumer (import of the CommonJS package, top-level await). */
const ESM = `import 'reflect-metadata';
import { CheckpointManager, MemoryStorage } from 'checkpointable';
import { CheckpointModule } from 'checkpointable/nestjs';

const manager = new CheckpointManager(MemoryStorage.create());
await manager.save('e', { n: 1 });
const n: number = await manager.restore<number>('e', 'n');
await manager.close();
const module = CheckpointModule.forRoot({ storage: 'memory:' });
console.log(JSON.stringify({ n, module: module.module.name }));
`;
