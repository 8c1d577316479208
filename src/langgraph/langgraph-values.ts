import type { SerializerProtocol } from '@langchain/langgraph-checkpoint';
import { decodeValue, encodeValue } from '../decorators/registry-codec';
import { CheckpointError } from '../errors';

/**
 * One LangGraph value as stored: checkpointable's own encoding whenever the codec takes
 * the value (Dates, Maps, Sets, bigints, cycles and shared references come back exact),
 * and LangGraph's serializer only for what the codec refuses: LangChain's own classes,
 * such as messages, which LangGraph's serializer knows how to rebuild.
 *
 * ```text
 * { codec: Uint8Array }                 the codec's bytes
 * { serde: string, bytes: Uint8Array }  the serializer's type tag and bytes
 * ```
 */
export type StoredValue = { codec: Uint8Array } | { serde: string; bytes: Uint8Array };

/**
 * Encodes `value`, preferring the codec.
 * @example
 * ```ts
 * const stored = await storeValue(new Date(), serde, { identifier, key: 'channel' });
 * ```
 */
export async function storeValue(
  value: unknown,
  serde: SerializerProtocol,
  context: { identifier: string; key: string },
): Promise<StoredValue> {
  try {
    return { codec: encodeValue(value, context) };
  } catch (error) {
    if (!CheckpointError.is(error, 'Serialize')) throw error;
    const [type, bytes] = await serde.dumpsTyped(value);
    return { serde: type, bytes };
  }
}

/**
 * Decodes a value stored by {@link storeValue}.
 * @throws {CheckpointError} `Deserialize` when `stored` is neither form
 * @example
 * ```ts
 * const value = await loadValue(stored, serde, { identifier, key: 'channel' });
 * ```
 */
export async function loadValue(
  stored: unknown,
  serde: SerializerProtocol,
  context: { identifier: string; key: string },
): Promise<unknown> {
  const s = stored as Partial<{ codec: unknown; serde: unknown; bytes: unknown }> | null;
  if (s !== null && typeof s === 'object' && s.codec instanceof Uint8Array) {
    return decodeValue(s.codec, context);
  }
  if (
    s !== null &&
    typeof s === 'object' &&
    typeof s.serde === 'string' &&
    s.bytes instanceof Uint8Array
  ) {
    return serde.loadsTyped(s.serde, s.bytes);
  }
  throw new CheckpointError(
    'Deserialize',
    `A LangGraph value in checkpoint ${JSON.stringify(context.identifier)} (${context.key}) is neither codec bytes nor serializer bytes: the checkpoint was written by something else or damaged.`,
    context,
  );
}
