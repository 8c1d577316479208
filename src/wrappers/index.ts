export { WrapperStorage } from './wrapper-storage';
export { GuardWrapper } from './guard-wrapper';
