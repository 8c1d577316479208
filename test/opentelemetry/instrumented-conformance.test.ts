import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStorage, InstrumentedStorage, MemoryStorage } from 'checkpointable';
import { openTelemetry } from 'checkpointable/opentelemetry';
import { storageConformance } from 'checkpointable/testing';

// Tracing must change nothing a storage does: the same suite as every storage and wrapper,
// through the OpenTelemetry instrumentation (no provider registered: the API's no-op tracer).
storageConformance('InstrumentedStorage over guarded MemoryStorage', {
  create: async () => new InstrumentedStorage(MemoryStorage.create(), openTelemetry()),
  capabilities: { guarded: true, labels: true },
});

const root = mkdtempSync(join(tmpdir(), 'cp-instrumented-'));
let made = 0;
const openFile = async (dir: string) =>
  new InstrumentedStorage(
    await FileStorage.openRaw(dir, { durability: 'atomic' }),
    openTelemetry(),
  );
storageConformance('InstrumentedStorage over FileStorage', {
  create: () => openFile(join(root, `s${made++}`)),
  reopen: (s) => openFile(((s as InstrumentedStorage).inner as FileStorage).dir),
  capabilities: { guarded: false },
});
