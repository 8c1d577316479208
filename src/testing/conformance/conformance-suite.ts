import { expect } from 'vitest';
import { CheckpointError, type CheckpointErrorKind } from '../../errors';
import type { CommittedCheckpoint, Storage } from '../../storage/storage';
import type { ConformanceOptions } from './conformance-options';

/**
 * What every group of the conformance suite shares: the options, the storage of the running
 * test (new for each test, closed after it), and helpers over it.
 *
 * @example
 * ```ts
 * const saved = await suite.commitValues('a', { k: 1 });
 * ```
 */
export interface ConformanceSuite {
  readonly options: ConformanceOptions;
  /** The storage of the running test. */
  storage(): Storage;
  /** Further storages the running test opened, closed after it. */
  readonly extra: Storage[];
  /** A second storage object over the running test's medium (`options.reopen`). */
  other(): Promise<Storage>;
  /** Creates, fills and commits a checkpoint in the running test's storage. */
  commitValues(identifier: string, values: Record<string, unknown>): Promise<CommittedCheckpoint>;
}

/**
 * Awaits `promise` and checks that it fails with a CheckpointError of `kind`.
 *
 * @example
 * ```ts
 * await expectKind(storage.loadCheckpoint('nope'), 'NotFound');
 * ```
 */
export async function expectKind(
  promise: Promise<unknown>,
  kind: CheckpointErrorKind,
): Promise<CheckpointError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected a CheckpointError of kind ${kind}`).toBeInstanceOf(CheckpointError);
  expect((caught as CheckpointError).kind).toBe(kind);
  return caught as CheckpointError;
}
