import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  main: string;
  types: string;
  exports: Record<string, string | { types: string; default: string }>;
  typesVersions: Record<string, Record<string, string[]>>;
};

/** Runs a CommonJS snippet with plain node, from the package root, as a user's code would. */
function node(code: string): string {
  return execFileSync(process.execPath, ['-e', code], { cwd: ROOT, encoding: 'utf8' }).trim();
}

describe('the published package', () => {
  beforeAll(() => {
    // The real build, exactly as `npm run build` makes it.
    execFileSync(
      process.execPath,
      [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
      {
        cwd: ROOT,
        stdio: 'pipe',
      },
    );
  });

  it('has main, types and a file behind every exports entry', () => {
    expect(existsSync(join(ROOT, pkg.main))).toBe(true);
    expect(existsSync(join(ROOT, pkg.types))).toBe(true);
    for (const [path, target] of Object.entries(pkg.exports)) {
      if (typeof target === 'string') continue;
      expect(existsSync(join(ROOT, target.default)), `${path} -> ${target.default}`).toBe(true);
      expect(existsSync(join(ROOT, target.types)), `${path} -> ${target.types}`).toBe(true);
    }
  });

  it('is CommonJS that plain node loads through the exports map, and works', () => {
    const out = node(`
      const { MemoryStorage, CheckpointError } = require('checkpointable');
      (async () => {
        const s = MemoryStorage.create();
        const d = await s.createCheckpoint('a');
        await d.put('k', new Map([[1, 2n]]));
        const c = await s.commitCheckpoint(d);
        const v = await c.get('k');
        let kind;
        try { await s.loadCheckpoint('missing'); } catch (e) { kind = e instanceof CheckpointError && e.kind; }
        console.log(JSON.stringify([v.get(1).toString(), kind]));
      })();
    `);
    expect(JSON.parse(out)).toEqual(['2', 'NotFound']);
  });

  it("gives every subpath to TypeScript's node10 resolution too (typesVersions)", () => {
    const subpaths = Object.keys(pkg.exports)
      .filter((path) => path.startsWith('./') && path !== './package.json')
      .map((path) => path.slice(2));
    const mapped = pkg.typesVersions['*'];
    expect(Object.keys(mapped).sort()).toEqual(subpaths.sort());
    for (const path of subpaths) {
      const target = pkg.exports[`./${path}`] as { types: string };
      expect(mapped[path], path).toEqual([target.types]);
    }
  });

  it('loads no optional peer (pg, ioredis, NestJS, OpenTelemetry, LangGraph) for users of the main entry', () => {
    const out = node(`
      require('checkpointable');
      const loaded = Object.keys(require.cache).filter((f) => /node_modules[\\\\/](pg|ioredis|@nestjs|@opentelemetry|@langchain)[\\\\/]/.test(f));
      console.log(JSON.stringify(loaded));
    `);
    expect(JSON.parse(out)).toEqual([]);
  });

  it("serves checkpointable/nestjs from the build, sharing the main entry's classes", () => {
    const out = node(`
      const { NestFactory } = require('@nestjs/core');
      const { CheckpointModule } = require('checkpointable/nestjs');
      const { CheckpointManager, CHECKPOINT_STORAGE } = require('checkpointable');
      (async () => {
        const app = await NestFactory.createApplicationContext(
          CheckpointModule.forRoot({ storage: 'memory:' }), { logger: false });
        const manager = app.get(CheckpointManager);
        await manager.save('a', { n: 1 });
        const ids = await app.get(CHECKPOINT_STORAGE).checkpointIdentifiers();
        await app.close();
        console.log(JSON.stringify([manager instanceof CheckpointManager, ids]));
      })();
    `);
    expect(JSON.parse(out)).toEqual([true, ['a']]);
  });

  it('resolves the testing subpath without loading it eagerly from the main entry', () => {
    const out = node(`
      console.log(require.resolve('checkpointable/testing').replace(process.cwd(), '.'));
      require('checkpointable');
      console.log(Object.keys(require.cache).some((f) => f.includes('vitest')));
    `);
    expect(out.split('\n')).toEqual(['./dist/testing/index.js', 'false']);
  });

  it('traces nothing, with one warning saying what to install, when @opentelemetry/api is missing', () => {
    const out = node(`
      const Module = require('module');
      const resolve = Module._resolveFilename;
      Module._resolveFilename = function (request, ...rest) {
        if (request === '@opentelemetry/api') {
          throw Object.assign(new Error("Cannot find module '@opentelemetry/api'"), { code: 'MODULE_NOT_FOUND' });
        }
        return resolve.call(this, request, ...rest);
      };
      const warnings = [];
      process.on('warning', (w) => warnings.push(w.name + ': ' + w.message));
      const { CheckpointManager, MemoryStorage } = require('checkpointable');
      const { openTelemetry } = require('checkpointable/opentelemetry');
      (async () => {
        const manager = new CheckpointManager(MemoryStorage.create()).instrument(openTelemetry());
        openTelemetry();
        await manager.save('a', { n: 1 });
        const n = await manager.restore('a', 'n');
        await new Promise((r) => setImmediate(r));
        console.log(JSON.stringify([n, warnings]));
      })();
    `);
    const [n, warnings] = JSON.parse(out) as [number, string[]];
    expect(n).toBe(1);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /^CheckpointTelemetryWarning: checkpointable\/opentelemetry: the "@opentelemetry\/api" package could not be loaded .*; add it with `npm install @opentelemetry\/api@\^1`\.$/,
    );
  });

  it('ships typings that type-check on their own, with nothing marked @internal left dangling', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cp-dts-'));
    try {
      const config = {
        compilerOptions: {
          noEmit: true,
          strict: true,
          skipLibCheck: false,
          module: 'commonjs',
          moduleResolution: 'node10',
          ignoreDeprecations: '6.0',
          target: 'ES2022',
          lib: ['ES2022', 'ESNext.Disposable'],
          types: ['node'],
          typeRoots: [join(ROOT, 'node_modules/@types')],
        },
        include: [join(ROOT, 'dist/**/*.d.ts')],
      };
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(config));
      const result = spawnSync(
        process.execPath,
        [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')],
        { cwd: ROOT, encoding: 'utf8' },
      );
      const ours = result.stdout
        .split('\n')
        .filter((line) => line.startsWith('dist/') || line.includes('/dist/'));
      expect(ours).toEqual([]);
      // Internal members stay out of the typings (stripInternal).
      expect(readFileSync(join(ROOT, 'dist/redis/redis-storage.d.ts'), 'utf8')).not.toContain(
        'oneTrip',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
