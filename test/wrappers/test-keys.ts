import { randomBytes } from 'node:crypto';

/** Keys the wrapper tests use; random per run, so no test can depend on their value. */
export const KEY_A = randomBytes(32).toString('base64');
export const KEY_B = randomBytes(32).toString('base64');
/** A raw 20-byte key: not 32 bytes, so HKDF has to stretch it. */
export const RAW_KEY = new Uint8Array(randomBytes(20));
export const OLD_KEY = randomBytes(32);
export const NEW_KEY = randomBytes(24).toString('hex');
export const SECRETS = [KEY_A, KEY_B, RAW_KEY, OLD_KEY, NEW_KEY];

/** A keyring before a rotation, after it, and once the old key is dropped. */
export const KEYRINGS = {
  before: { active: 'k1', keys: { k1: OLD_KEY } },
  after: { active: 'k2', keys: { k1: OLD_KEY, k2: NEW_KEY } },
  withoutOld: { active: 'k2', keys: { k2: NEW_KEY } },
};

/** Awaits `promise` and returns the error it rejected with (or undefined). */
export async function caught(promise: Promise<unknown> | (() => unknown)): Promise<unknown> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    return error;
  }
  return undefined;
}
