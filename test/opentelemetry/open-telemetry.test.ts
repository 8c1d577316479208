import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type Histogram,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import {
  CheckpointError,
  CheckpointManager,
  FileStorage,
  HmacWrapper,
  MemoryStorage,
} from 'checkpointable';
import { openTelemetry } from 'checkpointable/opentelemetry';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Order, sampleOrder } from '../fixtures/manager/domain';

const HMAC_KEY = 'k'.repeat(32);
const spans = new InMemorySpanExporter();
const tracerProvider = new BasicTracerProvider({
  spanProcessors: [new SimpleSpanProcessor(spans)],
});
const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const reader = new PeriodicExportingMetricReader({
  exporter: metricExporter,
  exportIntervalMillis: 3_600_000, // exported on forceFlush only
});
const meterProvider = new MeterProvider({ readers: [reader] });
const contextManager = new AsyncLocalStorageContextManager();

beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable());
});
afterAll(async () => {
  context.disable();
  await meterProvider.shutdown();
  await tracerProvider.shutdown();
});

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'cp-otel-'));
  spans.reset();
  metricExporter.reset();
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const byName = (name: string) => spans.getFinishedSpans().filter((s) => s.name === name);
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

async function metricPoints(name: string) {
  await reader.forceFlush();
  const exported = metricExporter.getMetrics().at(-1);
  const metric = exported?.scopeMetrics
    .flatMap((s) => s.metrics)
    .find((m) => m.descriptor.name === name);
  return metric?.dataPoints ?? [];
}

describe('checkpointable/opentelemetry', () => {
  it('traces a save with its commit inside, with storage kind, identifier and byte counts', async () => {
    const storage = HmacWrapper.wrap(await FileStorage.openRaw(join(root, 's')), HMAC_KEY);
    const manager = new CheckpointManager(storage).instrument(
      openTelemetry({ tracerProvider, meterProvider }),
    );
    const info = await manager.save('order-42', { order: sampleOrder(), note: 'n' });
    expect(info.identifier).toBe('order-42');
    const [save] = byName('checkpoint.save');
    const [commit] = byName('checkpoint.commit');
    expect(save.attributes).toMatchObject({
      'checkpoint.identifier': 'order-42',
      'checkpoint.keys': 2,
      'checkpoint.storage': 'file',
    });
    expect(save.attributes['checkpoint.bytes']).toBeGreaterThan(50);
    expect(commit.attributes).toMatchObject({
      'checkpoint.identifier': 'order-42',
      'checkpoint.storage': 'file',
      'db.operation.name': 'commit',
    });
    expect(parentOf(commit)).toBe(save.spanContext().spanId);
    await manager.close();
  });

  it('traces restore (with load inside), remove and list, and never puts values or keys of the keyring in attributes', async () => {
    const manager = new CheckpointManager(HmacWrapper.wrap(new MemoryStorage(), HMAC_KEY));
    manager.instrument(openTelemetry({ tracerProvider, meterProvider }));
    await manager.save('a', { order: sampleOrder() });
    expect(await manager.restore('a', 'order', Order)).toBeInstanceOf(Order);
    await manager.list();
    await manager.remove('a');
    const [restore] = byName('checkpoint.restore');
    const [load] = byName('checkpoint.load').filter(
      (s) => parentOf(s) === restore.spanContext().spanId,
    );
    expect(load).toBeDefined();
    expect(restore.attributes).toMatchObject({
      'checkpoint.identifier': 'a',
      'checkpoint.key': 'order',
      'checkpoint.storage': 'memory',
    });
    expect(restore.attributes['checkpoint.bytes']).toBeGreaterThan(50);
    expect(byName('checkpoint.list')[0].attributes['checkpoint.count']).toBe(1);
    expect(byName('checkpoint.remove')[0].attributes['checkpoint.identifier']).toBe('a');
    const everything = JSON.stringify(spans.getFinishedSpans().map((s) => s.attributes));
    expect(everything).not.toContain(HMAC_KEY);
    expect(everything).not.toContain('Ada'); // a value inside sampleOrder()
    await manager.close();
  });

  it('marks failed operations with the error kind and records them in the duration histogram', async () => {
    const manager = new CheckpointManager(MemoryStorage.create()).instrument(
      openTelemetry({ tracerProvider, meterProvider }),
    );
    await expect(manager.restore('missing', 'k')).rejects.toThrow(CheckpointError);
    const [restore] = byName('checkpoint.restore');
    expect(restore.status.code).toBe(2); // SpanStatusCode.ERROR
    expect(restore.attributes['checkpoint.error.kind']).toBe('NotFound');
    expect(restore.events.map((e) => e.name)).toContain('exception');
    const points = await metricPoints('checkpoint.operation.duration');
    const failed = points.find(
      (p) => p.attributes['checkpoint.operation'] === 'restore' && p.attributes['error.type'],
    );
    expect(failed?.attributes).toEqual({
      'checkpoint.operation': 'restore',
      'checkpoint.storage': 'memory',
      'error.type': 'NotFound',
    });
    expect((failed!.value as Histogram).count).toBeGreaterThanOrEqual(1);
    await manager.close();
  });

  it('counts bytes written and read, and autosave failures', async () => {
    const instrumentation = openTelemetry({ tracerProvider, meterProvider });
    const manager = new CheckpointManager(MemoryStorage.create()).instrument(instrumentation);
    const before = (await metricPoints('checkpoint.bytes.written'))
      .map((p) => p.value as number)
      .reduce((a, b) => a + b, 0);
    await manager.save('a', { blob: Buffer.alloc(1000) });
    await manager.restore('a', 'blob');
    instrumentation.autosaveFailed?.({ 'checkpoint.series': 'orders', 'error.type': 'Io' });
    const written = (await metricPoints('checkpoint.bytes.written'))
      .map((p) => p.value as number)
      .reduce((a, b) => a + b, 0);
    expect(written - before).toBeGreaterThan(1000);
    expect((await metricPoints('checkpoint.bytes.read')).length).toBeGreaterThan(0);
    const failures = await metricPoints('checkpoint.autosave.failures');
    expect(failures.map((p) => [p.attributes, p.value])).toContainEqual([
      { 'checkpoint.series': 'orders', 'error.type': 'Io' },
      1,
    ]);
    await manager.close();
  });

  it('uses the global providers when none are given', async () => {
    trace.setGlobalTracerProvider(tracerProvider);
    try {
      const manager = new CheckpointManager(MemoryStorage.create()).instrument(openTelemetry());
      await manager.save('g', { n: 1 });
      expect(byName('checkpoint.save')).toHaveLength(1);
      await manager.close();
    } finally {
      trace.disable();
    }
  });
});
