import type {
  Attributes,
  Counter,
  Histogram,
  Meter,
  MeterProvider,
  Span,
  Tracer,
  TracerProvider,
} from '@opentelemetry/api';
import { CheckpointError } from '../errors';
import type {
  CheckpointInstrumentation,
  CheckpointOperation,
  OperationAttributes,
  OperationScope,
} from '../telemetry/checkpoint-instrumentation';

/** The instrumentation scope name spans and metrics carry. */
const SCOPE = 'checkpointable';

/**
 * Options of {@link openTelemetry}.
 * @example
 * ```ts
 * const options: OpenTelemetryOptions = { tracerProvider: provider };
 * ```
 */
export interface OpenTelemetryOptions {
  /** Where spans go; the global tracer provider by default. */
  tracerProvider?: TracerProvider;
  /** Where metrics go; the global meter provider by default. */
  meterProvider?: MeterProvider;
}

type OtelApi = typeof import('@opentelemetry/api');

/**
 * The OpenTelemetry instrumentation: a span per operation (`checkpoint.save`,
 * `checkpoint.restore`, `checkpoint.commit`, `checkpoint.load`, `checkpoint.remove`,
 * `checkpoint.list`) with the storage kind, identifier and byte counts as attributes, and
 * the metrics `checkpoint.operation.duration` (histogram, seconds, per operation and
 * storage), `checkpoint.bytes.written` and `checkpoint.bytes.read` (counters, bytes) and
 * `checkpoint.autosave.failures` (counter). Attributes never hold values or key material.
 *
 * `@opentelemetry/api` is an optional peer dependency, loaded here and only here: without
 * it, this returns an instrumentation that does nothing and emits one process warning
 * saying what to install.
 *
 * @example
 * ```ts
 * import { openTelemetry } from 'checkpointable/opentelemetry';
 * const manager = container.resolve(CheckpointManager).instrument(openTelemetry());
 * ```
 */
export function openTelemetry(options: OpenTelemetryOptions = {}): CheckpointInstrumentation {
  const api = loadApi();
  if (api === undefined) return NO_OP;
  return new OpenTelemetryInstrumentation(api, options);
}

class OpenTelemetryInstrumentation implements CheckpointInstrumentation {
  readonly #api: OtelApi;
  readonly #tracer: Tracer;
  readonly #duration: Histogram;
  readonly #written: Counter;
  readonly #read: Counter;
  readonly #autosaveFailures: Counter;

  constructor(api: OtelApi, options: OpenTelemetryOptions) {
    this.#api = api;
    this.#tracer = (options.tracerProvider ?? api.trace.getTracerProvider()).getTracer(SCOPE);
    const meter: Meter = (options.meterProvider ?? api.metrics.getMeterProvider()).getMeter(SCOPE);
    this.#duration = meter.createHistogram('checkpoint.operation.duration', {
      description: 'How long checkpoint operations take',
      unit: 's',
    });
    this.#written = meter.createCounter('checkpoint.bytes.written', {
      description: 'Encoded bytes saved into checkpoints (before wrappers)',
      unit: 'By',
    });
    this.#read = meter.createCounter('checkpoint.bytes.read', {
      description: 'Bytes restored from checkpoints (after wrappers)',
      unit: 'By',
    });
    this.#autosaveFailures = meter.createCounter('checkpoint.autosave.failures', {
      description: 'Automatic saves that failed',
    });
  }

  operation<T>(
    name: CheckpointOperation,
    attributes: OperationAttributes,
    work: (scope: OperationScope) => Promise<T>,
  ): Promise<T> {
    const started = performance.now();
    return this.#tracer.startActiveSpan(
      `checkpoint.${name}`,
      { kind: this.#api.SpanKind.INTERNAL, attributes },
      async (span: Span) => {
        const scope: OperationScope = {
          set: (more) => {
            Object.assign(attributes, more);
            span.setAttributes(more);
          },
        };
        let errorKind: string | undefined;
        try {
          return await work(scope);
        } catch (error) {
          errorKind = error instanceof CheckpointError ? error.kind : 'Other';
          span.setAttribute('checkpoint.error.kind', errorKind);
          span.recordException(error instanceof Error ? error : String(error));
          span.setStatus({ code: this.#api.SpanStatusCode.ERROR, message: errorKind });
          throw error;
        } finally {
          span.end();
          this.#measure(name, attributes, (performance.now() - started) / 1000, errorKind);
        }
      },
    );
  }

  autosaveFailed(attributes: OperationAttributes): void {
    this.#autosaveFailures.add(1, attributes);
  }

  #measure(
    name: CheckpointOperation,
    attributes: OperationAttributes,
    seconds: number,
    errorKind: string | undefined,
  ): void {
    // Identifiers and keys stay off metrics: unbounded attribute values explode series.
    const dimensions: Attributes = { 'checkpoint.operation': name };
    for (const key of ['checkpoint.storage', 'db.system']) {
      if (attributes[key] !== undefined) dimensions[key] = attributes[key];
    }
    if (errorKind !== undefined) dimensions['error.type'] = errorKind;
    this.#duration.record(seconds, dimensions);
    const bytes = attributes['checkpoint.bytes'];
    if (errorKind !== undefined || typeof bytes !== 'number') return;
    if (name === 'save') this.#written.add(bytes, dimensions);
    if (name === 'restore') this.#read.add(bytes, dimensions);
  }
}

const NO_OP: CheckpointInstrumentation = {
  operation: (_name, _attributes, work) => work({ set() {} }),
};

let warned = false;

function loadApi(): OtelApi | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('@opentelemetry/api') as OtelApi;
  } catch (error) {
    if (!warned) {
      warned = true;
      process.emitWarning(
        `checkpointable/opentelemetry: the "@opentelemetry/api" package could not be loaded (${String(error)}), so checkpoint operations are not traced; add it with \`npm install @opentelemetry/api@^1\`.`,
        { type: 'CheckpointTelemetryWarning' },
      );
    }
    return undefined;
  }
}
