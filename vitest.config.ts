import path from 'node:path';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// SWC (not esbuild) compiles the tests so that `emitDecoratorMetadata` produces the same
// `design:type` metadata as the `tsc` build; esbuild silently drops it.
export default defineConfig({
  plugins: [swc.vite({ module: { type: 'es6' } })],
  resolve: {
    alias: [
      { find: /^checkpointable$/, replacement: path.resolve(__dirname, 'src/index.ts') },
      { find: /^checkpointable\/(.*)$/, replacement: path.resolve(__dirname, 'src/$1/index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['reflect-metadata'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
