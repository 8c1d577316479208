import { CheckpointError } from '../errors';
import type { CheckpointFieldOptions } from './checkpoint-options';
import { metadataRegistry } from './metadata-registry';

/**
 * Marks a property to save with its `@Checkpointable` class. The type comes from
 * TypeScript's `design:type` metadata; where that cannot say it (an interface, a union,
 * `any`, a class declared later in the file), give it with `type: () => X`. For arrays,
 * Sets and Maps, `type` names the element (Map: value) class, as class-transformer's
 * `@Type` does; `@CheckpointField` also registers that `@Type`, so `instanceToPlain` and
 * `plainToInstance` work on the same classes.
 *
 * @throws {CheckpointError} `Metadata` when the field's type cannot be known or saved, or the
 *   property is static, an accessor, a symbol or named `__proto__`, `constructor`, `prototype`
 *
 * @example
 * ```ts
 * @Checkpointable({ name: 'Order' })
 * class Order {
 *   @CheckpointField() placedAt!: Date;
 *   @CheckpointField({ type: () => LineItem }) items!: LineItem[];
 *   @CheckpointField({ type: () => Object }) meta!: Record<string, string>; // plain data
 * }
 * ```
 */
export function CheckpointField(options: CheckpointFieldOptions = {}): PropertyDecorator {
  return (target: object, property: string | symbol, descriptor?: unknown) => {
    const ctor = typeof target === 'function' ? target : target.constructor;
    const where = `${ctor.name || '(anonymous class)'}.${String(property)}`;
    if (typeof target === 'function') {
      throw misuse(`${where} is static; @CheckpointField() goes on instance properties.`);
    }
    if (typeof property === 'symbol') {
      throw misuse(
        `@CheckpointField() on ${where}: symbol-named properties cannot be saved; use a string name.`,
      );
    }
    if (descriptor !== undefined) {
      throw misuse(
        `@CheckpointField() on ${where}: it is a method or accessor; put it on the data property the accessor reads.`,
      );
    }
    metadataRegistry.declareField(ctor, property, options);
  };
}

function misuse(message: string): CheckpointError {
  return new CheckpointError('Metadata', message);
}
