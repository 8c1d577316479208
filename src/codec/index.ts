export { encodeValue, type CodecContext } from './encoder';
export { decodeValue, type DecodeOptions } from './decoder';
export { restoreAs, type ClassType } from './restore-as';
export { useClassBindings, classBindings, type CodecClass, type ClassLookup } from './codec-class';
export { hasClassTransformerMetadata } from './class-transformer-interop';
