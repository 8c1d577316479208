export {
  encodeValue,
  encodeValueWithClasses,
  type CodecContext,
  type EncodedValue,
} from './encoder';
export { decodeValue, type DecodeOptions } from './decoder';
export { restoreAs, type ClassType } from './restore-as';
export { NO_CLASSES, type CodecClass, type ClassLookup } from './codec-class';
export { hasClassTransformerMetadata } from './class-transformer-interop';
