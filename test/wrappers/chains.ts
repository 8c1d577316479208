import {
  buildWrapperChain,
  ChecksumWrapper,
  EncryptionWrapper,
  HmacWrapper,
  RECOMMENDED_WRAPPER_ORDER,
  type Storage,
  type WrapperConfig,
} from 'checkpointable';
import { KEY_A, KEY_B, KEYRINGS } from './test-keys';

/** The recommended full chain, as configuration, with the test keys. */
export const RECOMMENDED_CHAIN: WrapperConfig[] = RECOMMENDED_WRAPPER_ORDER.map((name) =>
  name === 'hmac'
    ? { hmac: { key: KEY_A } }
    : name === 'encrypt'
      ? { encrypt: { key: KEY_B } }
      : name,
);

/** Every wrapper configuration the conformance suite runs under, by name. */
export const WRAPPER_SETUPS: {
  name: string;
  wrap: (inner: Storage) => Storage;
  guarded: boolean;
}[] = [
  { name: 'ChecksumWrapper (SHA-256)', wrap: (s) => ChecksumWrapper.wrap(s), guarded: false },
  {
    name: 'ChecksumWrapper (CRC-32)',
    wrap: (s) => ChecksumWrapper.wrap(s, { algorithm: 'crc32' }),
    guarded: false,
  },
  { name: 'HmacWrapper (key)', wrap: (s) => HmacWrapper.wrap(s, KEY_A), guarded: false },
  {
    name: 'HmacWrapper (rotated keyring)',
    wrap: (s) => HmacWrapper.wrap(s, KEYRINGS.after),
    guarded: false,
  },
  {
    name: 'EncryptionWrapper (key)',
    wrap: (s) => EncryptionWrapper.wrap(s, KEY_A),
    guarded: false,
  },
  {
    name: 'EncryptionWrapper (rotated keyring)',
    wrap: (s) => EncryptionWrapper.wrap(s, KEYRINGS.after),
    guarded: false,
  },
  {
    name: `recommended chain [${RECOMMENDED_WRAPPER_ORDER.join(', ')}]`,
    wrap: (s) => buildWrapperChain(s, RECOMMENDED_CHAIN),
    guarded: true,
  },
  {
    name: 'chain with guard innermost [guard, checksum, hmac, encrypt]',
    wrap: (s) =>
      buildWrapperChain(s, [
        'guard',
        'checksum',
        { hmac: { key: KEY_A } },
        { encrypt: { key: KEY_B } },
      ]),
    guarded: true,
  },
];
