import { CheckpointError, decodeValue, encodeValue, MemoryStorage } from 'checkpointable';
import { describe, expect, it } from 'vitest';

/**
 * Whatever a value does while it is being saved, `put()` and `encodeValue` answer with a
 * `Serialize` CheckpointError naming the path, with the value's own error as `cause`;
 * nothing raw escapes.
 */

function caught(work: () => unknown): CheckpointError {
  let error: unknown;
  try {
    work();
  } catch (e) {
    error = e;
  }
  expect(error, 'expected a CheckpointError').toBeInstanceOf(CheckpointError);
  return error as CheckpointError;
}

/** An order whose fourth item's `name` getter throws `thrown`. */
function orderThrowing(thrown: unknown): object {
  const items: object[] = [{ name: 'a' }, { name: 'b' }, { name: 'c' }];
  items.push({
    get name(): string {
      throw thrown;
    },
  });
  return { items };
}

describe('codec: errors raised by the value itself', () => {
  // Regression: errors thrown by getters and proxies escaped put() untyped.
  it('wraps an error thrown by a getter as Serialize with the path and the cause', () => {
    const original = new TypeError('price is not loaded');
    const error = caught(() =>
      encodeValue(orderThrowing(original), { identifier: 'cp', key: 'order' }),
    );
    expect(error.kind).toBe('Serialize');
    expect(error.message).toBe(
      'Cannot save order.items[3].name (key "order" of checkpoint "cp"): reading it threw TypeError (price is not loaded); make the value readable (a getter or Proxy must not throw while it is saved), or save a plain copy.',
    );
    expect(error.cause).toBe(original);
    expect(error.identifier).toBe('cp');
    expect(error.key).toBe('order');
  });

  it('wraps a RangeError and a thrown non-Error the same way', () => {
    const range = new RangeError('Invalid string length');
    const error = caught(() => encodeValue(orderThrowing(range), { key: 'order' }));
    expect(error.kind).toBe('Serialize');
    expect(error.message).toContain('order.items[3].name');
    expect(error.message).toContain('reading it threw RangeError (Invalid string length)');
    expect(error.cause).toBe(range);
    const odd = caught(() => encodeValue(orderThrowing('just a string'), { key: 'order' }));
    expect(odd.message).toContain('reading it threw string (just a string)');
    expect(odd.cause).toBe('just a string');
  });

  it('wraps errors from Proxy traps and revoked proxies, at the root too', () => {
    const keys = new Error('ownKeys refused');
    const listing = new Proxy(
      {},
      {
        ownKeys() {
          throw keys;
        },
      },
    );
    const error = caught(() => encodeValue({ a: [1, listing] }, { key: 'v' }));
    expect(error.kind).toBe('Serialize');
    expect(error.message).toMatch(/^Cannot save v\.a\[1\] \(key "v"\): reading it threw Error/);
    expect(error.cause).toBe(keys);
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    const root = caught(() => encodeValue(proxy, { key: 'v' }));
    expect(root.kind).toBe('Serialize');
    expect(root.message).toMatch(/^Cannot save v \(key "v"\): reading it threw TypeError/);
    expect(root.cause).toBeInstanceOf(TypeError);
  });

  it('reaches put() of a storage as the same Serialize error', async () => {
    const storage = MemoryStorage.create();
    const draft = await storage.createCheckpoint('cp');
    const original = new Error('boom');
    let error: unknown;
    try {
      await draft.put('order', orderThrowing(original));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as CheckpointError).kind).toBe('Serialize');
    expect((error as CheckpointError).message).toContain('order.items[3].name');
    expect((error as CheckpointError).cause).toBe(original);
    await draft.discard();
  });

  // Regression: `RangeError: Invalid string length` escaped put() for a value whose text
  // is longer than JavaScript's longest string. One 1 MiB string referenced 520 times
  // encodes to 520 MiB of text, past the limit, while the value itself holds 1 MiB.
  it('refuses a value whose encoded text exceeds the longest string, as Serialize', () => {
    const text = 'x'.repeat(1 << 20);
    const value = Array.from({ length: 520 }, () => text);
    const error = caught(() => encodeValue(value, { key: 'huge' }));
    expect(error.kind).toBe('Serialize');
    expect(error.message).toBe(
      'Cannot save huge (key "huge"): its encoded text is longer than the longest string JavaScript can build (RangeError (Invalid string length)); save it in parts under several keys, or hold large text as a Buffer.',
    );
    expect(error.cause).toBeInstanceOf(RangeError);
  });
});

describe('codec: null-prototype objects', () => {
  // Regression: Object.create(null) came back with Object.prototype.
  it('restores objects without a prototype as objects without a prototype', () => {
    const dict = Object.assign(Object.create(null) as Record<string, unknown>, {
      a: 1,
      nested: Object.assign(Object.create(null) as object, { b: [2] }),
    });
    const value = { dict, again: dict, plain: { c: 3 } };
    const back = decodeValue(encodeValue(value)) as typeof value;
    expect(Object.getPrototypeOf(back.dict)).toBeNull();
    expect(Object.getPrototypeOf(back.dict.nested)).toBeNull();
    expect(Object.getPrototypeOf(back.plain)).toBe(Object.prototype);
    expect(back.again).toBe(back.dict);
    expect({ ...back.dict, nested: { ...(back.dict.nested as object) } }).toEqual({
      a: 1,
      nested: { b: [2] },
    });
  });

  it('keeps a cycle through a null-prototype object', () => {
    const dict = Object.create(null) as Record<string, unknown>;
    dict.self = dict;
    dict.list = [dict];
    const back = decodeValue(encodeValue(dict)) as Record<string, unknown>;
    expect(Object.getPrototypeOf(back)).toBeNull();
    expect(back.self).toBe(back);
    expect((back.list as unknown[])[0]).toBe(back);
  });

  it('refuses a malformed null-prototype tag and a reserved key inside one', () => {
    const craft = (tree: unknown) => {
      const json = Buffer.from(JSON.stringify(tree), 'utf8');
      const out = Buffer.alloc(8 + json.length + 4);
      out.write('CPV\u0001', 0, 'latin1');
      out.writeUInt32LE(json.length, 4);
      json.copy(out, 8);
      return out;
    };
    for (const tree of [
      ['\u0000N'],
      ['\u0000N', [1]],
      ['\u0000N', null],
      ['\u0000N', {}, {}],
      ['\u0000N', JSON.parse('{"__proto__":{"polluted":1}}')],
    ]) {
      expect(caught(() => decodeValue(craft(tree))).kind).toBe('Deserialize');
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
