/**
 * Every failure this library raises is a {@link CheckpointError}. Callers branch on
 * `kind` (a closed set, see {@link CheckpointErrorKind}), never on the message, which is
 * written for people: it names the checkpoint, the key or the field, and says what to do.
 */

/**
 * The kinds of failure (docs/errors.md says when each is raised). The first eleven are
 * the `ErrorKind` of the Rust `checkpoint` crate this library models; `Released`,
 * `Conflict`, `Metadata` and `Version` are its own.
 */
export const CHECKPOINT_ERROR_KINDS = [
  'AlreadyExists',
  'NotFound',
  'InUse',
  'KeyNotFound',
  'Serialize',
  'Deserialize',
  'Initialization',
  'Integrity',
  'InvalidIdentifier',
  'Io',
  'Other',
  'Released',
  'Conflict',
  'Metadata',
  'Version',
] as const;

/** One of {@link CHECKPOINT_ERROR_KINDS}. */
export type CheckpointErrorKind = (typeof CHECKPOINT_ERROR_KINDS)[number];

/** Optional context attached to a {@link CheckpointError}. */
export interface CheckpointErrorDetails {
  /** The checkpoint identifier the operation was about, when there is one. */
  identifier?: string;
  /** The key inside the checkpoint, when there is one. */
  key?: string;
  /** The underlying error (a Node.js `SystemError`, a driver error, ...). */
  cause?: unknown;
}

/**
 * The single error class of the library.
 *
 * @example
 * ```ts
 * try {
 *   await storage.loadCheckpoint('nightly');
 * } catch (error) {
 *   if (error instanceof CheckpointError && error.kind === 'NotFound') {
 *     // first start: nothing saved yet
 *   } else {
 *     throw error;
 *   }
 * }
 * ```
 */
export class CheckpointError extends Error {
  /** What went wrong, as a stable machine-readable string. */
  readonly kind: CheckpointErrorKind;
  /** The checkpoint identifier involved, if any. */
  readonly identifier?: string;
  /** The key involved, if any. */
  readonly key?: string;

  /**
   * @param kind one of {@link CHECKPOINT_ERROR_KINDS}
   * @param message what failed and how to fix it
   * @param details identifier, key and cause, where known
   */
  constructor(kind: CheckpointErrorKind, message: string, details: CheckpointErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'CheckpointError';
    this.kind = kind;
    if (details.identifier !== undefined) this.identifier = details.identifier;
    if (details.key !== undefined) this.key = details.key;
  }

  /**
   * True when `error` is a {@link CheckpointError}, optionally of the given kind.
   *
   * @example
   * ```ts
   * if (CheckpointError.is(error, 'NotFound')) return undefined;
   * ```
   */
  static is(error: unknown, kind?: CheckpointErrorKind): error is CheckpointError {
    return error instanceof CheckpointError && (kind === undefined || error.kind === kind);
  }
}

/**
 * Quotes a user-supplied name for an error message. JSON quoting makes control
 * characters and trailing spaces visible, which is exactly what a user needs to see
 * when an identifier was rejected.
 */
export function quote(name: string): string {
  return JSON.stringify(name.length > 80 ? `${name.slice(0, 77)}...` : name);
}
