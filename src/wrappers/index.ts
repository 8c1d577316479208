export { WrapperStorage } from './wrapper-storage';
export { GuardWrapper } from './guard-wrapper';
export { ChecksumWrapper, type ChecksumOptions, type ChecksumAlgorithm } from './checksum-wrapper';
export { HmacWrapper } from './hmac-wrapper';
export { EncryptionWrapper } from './encryption-wrapper';
export { DEFAULT_KEY_ID, MIN_KEY_BYTES, type KeyInput, type Keyring } from './keyring';
export {
  buildWrapperChain,
  RECOMMENDED_WRAPPER_ORDER,
  type WrapperConfig,
  type WrapperName,
} from './wrapper-chain';
