/**
 * What the manual's code fragments use without declaring it: the objects a fragment talks
 * about (`storage`, `draft`, `manager`, ...), as a reader has them at that point of the page.
 * The docs test imports from here every name a fragment neither imports nor declares, so a
 * fragment type-checks against the real API while staying short. Runnable blocks never get
 * these names: they must declare what they use.
 *
 * Keep it small and honest: each name is what the surrounding text says it is.
 */
import type {
  CheckpointManager,
  CommittedCheckpoint,
  Storage,
  UncommittedCheckpoint,
} from 'checkpointable';

/** A storage, as opened on the page (`MemoryStorage.create()`, `FileStorage.open(...)`). */
export declare const storage: Storage;
/** An open uncommitted checkpoint of `storage`. */
export declare const draft: UncommittedCheckpoint;
/** A committed checkpoint, as loaded with `storage.loadCheckpoint(...)`. */
export declare const saved: CommittedCheckpoint;
/** A manager over `storage`. */
export declare const manager: CheckpointManager;

/** The customer of the decorators page (`@Checkpointable({ name: 'Customer' })`). */
export declare class Customer {
  name: string;
  since: Date;
  tags: Set<string>;
}
/** The order of the decorators page (`@Checkpointable({ name: 'Order' })`). */
export declare class Order {
  id: string;
  placedAt: Date;
  customer: Customer;
  totals: Map<string, number>;
  currency: string;
}
/** An order and its customer, as an application holds them. */
export declare const order: Order;
export declare const customer: Customer;
/** Orders to save together. */
export declare const orders: Order[];
/** An order a service already holds (a DI singleton), to restore into. */
export declare const existingOrder: Order;

/** The reader's own wrapper and its keys, on "Testing your own wrapper". */
export declare const MyWrapper: { wrap(inner: Storage, key: string): Storage };
export declare const KEY: string;
export declare const OTHER_KEY: string;

/** The reader's own storage, on "Testing your own storage". */
export interface MyStorage extends Storage {
  readonly table: string;
}
export declare const MyStorage: { open(options: { table: string }): Promise<MyStorage> };
