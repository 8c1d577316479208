import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSample } from '../fixtures/manager/run-sample';

describe('samples/replica-race.ts', () => {
  it('the stale replica gets a Conflict, and wins after restoring and re-applying', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'cp-replica-race-'));
    expect(await runSample('replica-race', folder)).toEqual({
      a: { apple: 7 },
      staleB: { apple: 6 },
      conflict: {
        kind: 'Conflict',
        message: `Series "stock" changed under this writer: this handle saw it empty, but sequence 1 is now the latest, saved by another process or replica. Nothing was saved, so the newer checkpoint is kept. Restore the latest (series.restoreLatest(...)) and re-apply the change, then save again; a single-writer app that may overwrite can open the series with { onConflict: 'overwrite-latest' }.`,
      },
      reportedToOnError: ['Conflict'],
      restartedFrom: { apple: 7 },
      afterReapply: { apple: 3 },
    });
  });
});
