import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSample } from '../fixtures/manager/run-sample';

describe('samples/migration.ts', () => {
  it('restores with version 2 of a class what version 1 saved, in another process', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'cp-migration-'));
    expect(await runSample('migration', 'save', folder)).toEqual({
      saved: 'customers-v1',
      classes: ['sample.Customer'],
    });
    expect(await runSample('migration', 'restore', folder)).toEqual({
      isVersion2: true,
      firstName: 'Ada',
      lastName: 'King Lovelace',
      since: '1843-07-01T00:00:00.000Z',
      newsletter: false,
    });
  });
});
