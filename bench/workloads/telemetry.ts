import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExportResult } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  SimpleSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { CheckpointManager, FileStorage, MemoryStorage, type Storage } from 'checkpointable';
import { openTelemetry } from 'checkpointable/opentelemetry';
import { compare, type Budget } from '../harness';
import { ratioRow, type Row } from '../report';

/** An exporter that drops every span: the cost measured is the library's and the SDK's. */
class DroppingExporter implements SpanExporter {
  export(_spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    done({ code: 0 });
  }
  async shutdown(): Promise<void> {}
}

/** A service's state of about `bytes` bytes once encoded. */
function stateOf(bytes: number): Record<string, unknown> {
  const items = Array.from({ length: Math.max(1, Math.round(bytes / 48)) }, (_, i) => ({
    sku: `SKU-${i}`,
    qty: i % 7,
    at: new Date(1_700_000_000_000 + i),
  }));
  return { items, updatedAt: new Date() };
}

/**
 * A manager save with a `save` listener and OpenTelemetry tracing on (a real SDK tracer
 * provider whose exporter drops the spans) against the same save with neither, on the
 * same storage kind, interleaved. Target: <= 1.05x.
 */
export async function telemetryBenchmarks({
  cpu,
  io,
}: {
  cpu: Budget;
  io: Budget;
}): Promise<Row[]> {
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(new DroppingExporter())],
  });
  const root = mkdtempSync(join(tmpdir(), 'cp-bench-telemetry-'));
  const rows: Row[] = [];
  const cases: {
    name: string;
    open: (dir: string) => Promise<Storage>;
    bytes: number;
    budget: Budget;
  }[] = [
    {
      name: 'MemoryStorage, 48 KB state',
      open: async () => MemoryStorage.create(),
      bytes: 48_000,
      budget: cpu,
    },
    {
      name: 'durable FileStorage, 1 KB state',
      open: (dir) => FileStorage.open(dir),
      bytes: 1_000,
      budget: io,
    },
  ];
  try {
    for (const [index, c] of cases.entries()) {
      const plain = new CheckpointManager(await c.open(join(root, `plain-${index}`)));
      const traced = new CheckpointManager(await c.open(join(root, `traced-${index}`))).instrument(
        openTelemetry({ tracerProvider }),
      );
      let events = 0;
      traced.on('save', () => events++);
      const state = stateOf(c.bytes);
      let n = 0;
      const saveWith = (manager: CheckpointManager) => async () => {
        const id = `s-${n++}`;
        await manager.save(id, state);
      };
      const result = await compare(saveWith(traced), { plain: saveWith(plain) }, c.budget);
      if (events === 0) throw new Error('the save listener never ran');
      await plain.close();
      await traced.close();
      rows.push(
        ratioRow({
          name: `save with events and OpenTelemetry tracing on, ${c.name}`,
          value: result.subjectMs,
          unit: 'ms',
          baselineName: 'the same save with neither',
          baseline: result.baselineMs.plain,
          ratio: result.ratio.plain,
          maxRatio: 1.05,
        }),
      );
    }
  } finally {
    await tracerProvider.shutdown();
    rmSync(root, { recursive: true, force: true });
  }
  return rows;
}
