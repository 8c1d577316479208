// `checkpointable/opentelemetry`: the only module that loads @opentelemetry/api.
export { openTelemetry, type OpenTelemetryOptions } from './open-telemetry';
