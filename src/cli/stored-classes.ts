/**
 * Decoding values without the application's classes. The bin runs in a process that has
 * none of the `@Checkpointable` classes that wrote the data, yet `show` and `verify` must
 * read every value: this registry answers for any stored class name with a stand-in class
 * of that name, whose instances receive exactly the fields that were stored. The codec's
 * own checks (tags, references, class definitions) all still run; only the step that
 * would refuse an unregistered class is answered.
 */
import type { ClassLookup, CodecClass } from '../codec/codec-class';
import { quoteName } from './output';

/**
 * The stand-in for a stored class: its name is the stored name, and instances hold the
 * stored fields as own properties.
 *
 * @example
 * ```ts
 * if (value instanceof StoredInstance) console.log(value.constructor.name);
 * ```
 */
export abstract class StoredInstance {
  /** The class name as stored (the constructor's `name` may be quoted for display). */
  static readonly storedName: string = '';
}

/**
 * The stored class name of a stand-in instance.
 * @example
 * ```ts
 * storedClassName(value); // 'Order'
 * ```
 */
export function storedClassName(instance: StoredInstance): string {
  return (instance.constructor as typeof StoredInstance).storedName;
}

const SAFE_NAME = /^[A-Za-z_$][\w$.:@-]{0,127}$/;

/**
 * The stored class name as it may be shown: as it is when it looks like a class name,
 * JSON-quoted otherwise (control characters and all made visible).
 */
function displayName(name: string): string {
  return SAFE_NAME.test(name) ? name : quoteName(name.slice(0, 128));
}

function bindingFor(name: string): CodecClass {
  // The stand-in class, named after the stored class so that util.inspect shows it.
  const ctor = class extends StoredInstance {
    static override readonly storedName = name;
  };
  Object.defineProperty(ctor, 'name', { value: displayName(name) });
  // The decoder calls upgrade, then restoreFields, then reads fieldNames, synchronously
  // for one instance at a time: the fields listed are those of the instance at hand.
  let fields: Record<string, unknown> = {};
  return {
    name,
    // Every stored version is "older": no stored data is refused as too new.
    version: Number.MAX_SAFE_INTEGER,
    ctor,
    get fieldNames() {
      return Object.keys(fields);
    },
    instantiate: () => Object.create(ctor.prototype) as object,
    upgrade: (data) => data,
    restoreFields: (data) => {
      fields = data;
      return data;
    },
  };
}

/**
 * A class lookup under which the codec decodes instances of any stored class into
 * {@link StoredInstance} stand-ins. Only for the bin: an application must restore into its
 * real classes.
 *
 * @example
 * ```ts
 * const value = decodeValue(bytes, { classes: storedClasses() }); // an Order stand-in
 * ```
 */
export function storedClasses(): ClassLookup {
  const bindings = new Map<string, CodecClass>();
  return {
    byConstructor: () => undefined,
    byName(name) {
      let binding = bindings.get(name);
      if (binding === undefined) {
        binding = bindingFor(name);
        bindings.set(name, binding);
      }
      return binding;
    },
  };
}

/** The stand-in classes of this process's command line, shared by its commands. */
export const STORED_CLASSES: ClassLookup = storedClasses();
