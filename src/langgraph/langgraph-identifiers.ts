import { createHash } from 'node:crypto';
import { CheckpointError, quote } from '../errors';

/**
 * How LangGraph's threads, namespaces and checkpoint ids map onto checkpoint identifiers:
 *
 * ```text
 * @langgraph:<thread>:<namespace>:c:<checkpoint id>            one LangGraph checkpoint
 * @langgraph:<thread>:<namespace>:w:<checkpoint id>:<sequence> one putWrites() call for it
 * ```
 *
 * Each part is percent-encoded (`encodeURIComponent`), so `:` never appears inside a part
 * and every identifier stays inside the grammar (no `/`, `\` or control characters). A
 * thread or namespace too long to fit is replaced by `#` and 32 hex digits of its SHA-256:
 * still one fixed prefix per thread, so a thread's checkpoints are found by prefix. The
 * real thread and namespace are always stored inside the checkpoint as well.
 *
 * Checkpoint ids (uuid6 in LangGraph) sort by time, so within a thread and namespace the
 * identifiers of checkpoints sort oldest first; write sequences sort in call order.
 */
export const LANGGRAPH_PREFIX = '@langgraph:';

/** Longest encoded thread id or namespace kept readable; longer ones are hashed. */
const MAX_PART = 80;
/** Longest encoded checkpoint id: ids must sort, so they are never hashed. */
const MAX_CHECKPOINT_ID = 64;

/**
 * One thread id or namespace as an identifier part.
 * @example
 * ```ts
 * encodePart('user/42'); // 'user%2F42'
 * ```
 */
export function encodePart(part: string): string {
  let encoded: string | undefined;
  try {
    encoded = encodeURIComponent(part);
  } catch {
    encoded = undefined; // a lone surrogate
  }
  if (encoded !== undefined && encoded.length <= MAX_PART) return encoded;
  return `#${createHash('sha256').update(part, 'utf16le').digest('hex').slice(0, 32)}`;
}

/**
 * The part back, or undefined when it was hashed (read the stored config instead).
 * @example
 * ```ts
 * decodePart('user%2F42'); // 'user/42'
 * ```
 */
export function decodePart(part: string): string | undefined {
  if (part.startsWith('#')) return undefined;
  try {
    return decodeURIComponent(part);
  } catch {
    return undefined;
  }
}

/**
 * The identifier prefix of every checkpoint and write of a thread (all namespaces).
 * @example
 * ```ts
 * threadPrefix('t1'); // '@langgraph:t1:'
 * ```
 */
export function threadPrefix(threadId: string): string {
  return `${LANGGRAPH_PREFIX}${encodePart(threadId)}:`;
}

/**
 * The identifier prefix of the checkpoints of one thread and namespace.
 * @example
 * ```ts
 * checkpointPrefix('t1', ''); // '@langgraph:t1::c:'
 * ```
 */
export function checkpointPrefix(threadId: string, namespace: string): string {
  return `${threadPrefix(threadId)}${encodePart(namespace)}:c:`;
}

/**
 * The identifier of one LangGraph checkpoint.
 * @throws {CheckpointError} `InvalidIdentifier` for a checkpoint id longer than 64
 *   characters once encoded (LangGraph's are 36-character uuid6)
 * @example
 * ```ts
 * checkpointIdentifier('t1', '', '1ef...'); // '@langgraph:t1::c:1ef...'
 * ```
 */
export function checkpointIdentifier(
  threadId: string,
  namespace: string,
  checkpointId: string,
): string {
  return `${checkpointPrefix(threadId, namespace)}${encodeCheckpointId(checkpointId)}`;
}

/**
 * The identifier prefix of the writes stored for one checkpoint.
 * @example
 * ```ts
 * writesPrefix('t1', '', '1ef...'); // '@langgraph:t1::w:1ef...:'
 * ```
 */
export function writesPrefix(threadId: string, namespace: string, checkpointId: string): string {
  const thread = threadPrefix(threadId);
  return `${thread}${encodePart(namespace)}:w:${encodeCheckpointId(checkpointId)}:`;
}

/**
 * The checkpoint id at the end of a checkpoint identifier under `prefix`.
 * @example
 * ```ts
 * checkpointIdOf('@langgraph:t1::c:abc', '@langgraph:t1::c:'); // 'abc'
 * ```
 */
export function checkpointIdOf(identifier: string, prefix: string): string | undefined {
  if (!identifier.startsWith(prefix)) return undefined;
  return decodePart(identifier.slice(prefix.length));
}

/**
 * What a stored identifier says: thread, namespace (undefined when hashed) and kind.
 * @example
 * ```ts
 * parseIdentifier('@langgraph:t1::c:abc'); // { thread: 't1', namespace: '', kind: 'c', ... }
 * ```
 */
export function parseIdentifier(identifier: string):
  | {
      threadPart: string;
      namespacePart: string;
      kind: 'c' | 'w';
      checkpointId: string | undefined;
    }
  | undefined {
  if (!identifier.startsWith(LANGGRAPH_PREFIX)) return undefined;
  const parts = identifier.slice(LANGGRAPH_PREFIX.length).split(':');
  if (parts.length < 4 || (parts[2] !== 'c' && parts[2] !== 'w')) return undefined;
  return {
    threadPart: parts[0],
    namespacePart: parts[1],
    kind: parts[2],
    checkpointId: decodePart(parts[3]),
  };
}

function encodeCheckpointId(checkpointId: string): string {
  const encoded = encodePart(checkpointId);
  if (!encoded.startsWith('#') && encoded.length <= MAX_CHECKPOINT_ID) return encoded;
  throw new CheckpointError(
    'InvalidIdentifier',
    `The LangGraph checkpoint id ${quote(checkpointId.slice(0, 80))} is too long to store: CheckpointableSaver keeps ids of up to ${MAX_CHECKPOINT_ID} characters once percent-encoded, so that they sort; LangGraph's own ids (uuid6) are 36.`,
  );
}
