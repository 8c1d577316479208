/**
 * The codec is handed the classes it may save and restore (`CodecContext.classes`); the
 * package's encodeValue/decodeValue hand it the `@Checkpointable` registry, and the encoder
 * reports which classes a value held.
 */
import 'reflect-metadata';
import { describe, expect, it } from 'vitest';
import {
  Checkpointable,
  CheckpointError,
  CheckpointField,
  decodeValue,
  encodeValue,
  metadataRegistry,
  type ClassLookup,
  type CodecClass,
} from 'checkpointable';
import { encodeValue as encodeWithCodecAlone } from '../../src/codec/encoder';
import { encodeValueWithClasses } from '../../src/decorators/registry-codec';

@Checkpointable({ name: 'LookupLine' })
class Line {
  @CheckpointField() sku!: string;
}

@Checkpointable({ name: 'LookupOrder' })
class Order {
  @CheckpointField() id!: string;
  @CheckpointField({ type: () => Line }) lines!: Line[];
}

const line = (sku: string) => Object.assign(new Line(), { sku });
const order = () => Object.assign(new Order(), { id: 'o1', lines: [line('a'), line('b')] });

function thrown(work: () => unknown): CheckpointError {
  try {
    work();
  } catch (error) {
    expect(error).toBeInstanceOf(CheckpointError);
    return error as CheckpointError;
  }
  throw new Error('expected a CheckpointError');
}

describe('codec: the classes it is handed', () => {
  it('reports each class a value held once, in the order first met', () => {
    const { bytes, classes } = encodeValueWithClasses({ first: order(), again: order() });
    expect(classes.map((c) => c.name)).toEqual(['LookupOrder', 'LookupLine']);
    expect(classes[0]).toBe(metadataRegistry.planOf(Order));
    expect(bytes.equals(encodeValue({ first: order(), again: order() }))).toBe(true);
  });

  it('reports no class for plain data', () => {
    expect(encodeValueWithClasses({ at: new Date(0), tags: ['x'] }).classes).toEqual([]);
  });

  it('knows no class when none is handed to it', () => {
    const error = thrown(() => encodeWithCodecAlone(line('a'), { key: 'k' }));
    expect(error.kind).toBe('Serialize');
    expect(error.message).toContain('which is not registered; add @Checkpointable() to Line');
  });

  it('restores with the lookup a caller hands it instead of the registry', () => {
    class Stand {}
    const asked: string[] = [];
    const stand: CodecClass = {
      name: 'LookupLine',
      version: 1,
      ctor: Stand,
      fieldNames: ['sku'],
      instantiate: () => new Stand(),
      upgrade: (data) => data,
    };
    const lookup: ClassLookup = {
      byConstructor: () => undefined,
      byName: (name) => {
        asked.push(name);
        return name === 'LookupLine' ? stand : undefined;
      },
    };
    const value = decodeValue(encodeValue(line('a')), { classes: lookup });
    expect(value).toBeInstanceOf(Stand);
    expect(value).toEqual(Object.assign(new Stand(), { sku: 'a' }));
    expect(asked).toEqual(['LookupLine']);
  });
});
