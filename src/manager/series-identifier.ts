import { CheckpointError, quote } from '../errors';
import { nameProblem } from '../storage/names';

/**
 * The prefix every series checkpoint identifier starts with; reserved for series.
 *
 * @example
 * ```ts
 * const mine = (await storage.checkpointIdentifiers()).filter((id) => !id.startsWith(SERIES_PREFIX));
 * ```
 */
export const SERIES_PREFIX = '@series:';

/**
 * The longest series name accepted, so that a series identifier stays a valid identifier.
 *
 * @example
 * ```ts
 * const name = tenantId.slice(0, MAX_SERIES_NAME_LENGTH);
 * ```
 */
export const MAX_SERIES_NAME_LENGTH = 200;

/** The number of decimal digits of a sequence number in an identifier. */
const SEQUENCE_DIGITS = 12;

/** The largest sequence number an identifier can hold. */
export const MAX_SEQUENCE = 10 ** SEQUENCE_DIGITS - 1;

const SEQUENCE = /^[0-9]{12}$/;

/**
 * The identifier of checkpoint `sequence` of the series `name`:
 * `@series:<name>:<sequence>`, the sequence zero-padded to 12 digits so that identifiers
 * sort in sequence order. Identifiers starting with `@series:` are reserved: the manager
 * refuses them in `save()` and `begin()`.
 *
 * @throws {CheckpointError} `InvalidIdentifier` for a bad series name or a sequence outside
 *   1 to 999,999,999,999
 *
 * @example
 * ```ts
 * formatSeriesIdentifier('orders', 42); // '@series:orders:000000000042'
 * ```
 */
export function formatSeriesIdentifier(name: string, sequence: number): string {
  assertValidSeriesName(name);
  if (!Number.isSafeInteger(sequence) || sequence < 1 || sequence > MAX_SEQUENCE) {
    throw new CheckpointError(
      'InvalidIdentifier',
      `Series ${quote(name)} has no sequence number ${String(sequence)}: sequence numbers are integers from 1 to ${MAX_SEQUENCE}.`,
    );
  }
  return `${SERIES_PREFIX}${name}:${String(sequence).padStart(SEQUENCE_DIGITS, '0')}`;
}

/**
 * Reads a series checkpoint identifier back into its series name and sequence number.
 * Anything else (a user's identifier, or a malformed one under the reserved prefix)
 * gives `undefined`; use {@link isSeriesIdentifier} to tell the two apart.
 *
 * @example
 * ```ts
 * parseSeriesIdentifier('@series:orders:000000000042'); // { series: 'orders', sequence: 42 }
 * parseSeriesIdentifier('order-42');                    // undefined
 * ```
 */
export function parseSeriesIdentifier(
  identifier: string,
): { series: string; sequence: number } | undefined {
  if (typeof identifier !== 'string' || !identifier.startsWith(SERIES_PREFIX)) return undefined;
  const colon = identifier.lastIndexOf(':');
  const series = identifier.slice(SERIES_PREFIX.length, colon);
  const digits = identifier.slice(colon + 1);
  if (colon < SERIES_PREFIX.length || seriesNameProblem(series) !== undefined) return undefined;
  if (!SEQUENCE.test(digits)) return undefined;
  const sequence = Number(digits);
  return sequence >= 1 ? { series, sequence } : undefined;
}

/**
 * True when `identifier` is in the reserved series namespace (starts with `@series:`),
 * whether or not it is well formed.
 *
 * @example
 * ```ts
 * isSeriesIdentifier('@series:orders:000000000001'); // true
 * ```
 */
export function isSeriesIdentifier(identifier: string): boolean {
  return typeof identifier === 'string' && identifier.startsWith(SERIES_PREFIX);
}

/**
 * Checks a series name: the identifier grammar, no `:`, at most 200 characters.
 *
 * @throws {CheckpointError} `InvalidIdentifier` naming the rule it broke
 *
 * @example
 * ```ts
 * assertValidSeriesName('orders');   // passes
 * assertValidSeriesName('a:b');      // throws InvalidIdentifier
 * ```
 */
export function assertValidSeriesName(name: unknown): asserts name is string {
  const problem = seriesNameProblem(name);
  if (problem === undefined) return;
  const shown = typeof name === 'string' ? quote(name) : String(name);
  throw new CheckpointError(
    'InvalidIdentifier',
    `Invalid series name ${shown}: ${problem}. Use 1 to ${MAX_SERIES_NAME_LENGTH} characters without ':', '/', '\\' or control characters, other than '.' and '..'.`,
  );
}

function seriesNameProblem(name: unknown): string | undefined {
  const problem = nameProblem(name);
  if (problem !== undefined) return problem;
  const text = name as string;
  if (text.length > MAX_SERIES_NAME_LENGTH) return `it is ${text.length} characters long`;
  const colon = text.indexOf(':');
  if (colon >= 0) return `it contains ':' at position ${colon}`;
  return undefined;
}

/**
 * The `InvalidIdentifier` error for a caller's identifier in the reserved series namespace.
 * @internal
 */
export function reservedIdentifier(identifier: string, call: 'save' | 'begin'): CheckpointError {
  const parsed = parseSeriesIdentifier(identifier);
  const hint =
    parsed === undefined ? 'manager.series(name)' : `manager.series(${quote(parsed.series)})`;
  return new CheckpointError(
    'InvalidIdentifier',
    `manager.${call}(${quote(identifier)}): identifiers starting with '${SERIES_PREFIX}' are reserved for checkpoint series; save into a series with ${hint}.save(values), or choose an identifier without that prefix.`,
    { identifier },
  );
}
