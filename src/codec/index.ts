export { encodeValue, type CodecContext } from './encoder';
export { decodeValue, type DecodeOptions } from './decoder';
export { restoreAs, type ClassType } from './restore-as';
export {
  useClassBindings,
  classBindings,
  type ClassBinding,
  type ClassBindings,
} from './class-bindings';
export { hasClassTransformerMetadata } from './class-transformer-interop';
