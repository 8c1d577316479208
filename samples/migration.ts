/**
 * Versions and migrations: data saved by version 1 of a class, restored by version 2.
 * Two deploys of one application are played by two processes on one folder:
 *
 *   node -r @swc-node/register samples/migration.ts save    ./var/migration   # version 1 saves
 *   node -r @swc-node/register samples/migration.ts restore ./var/migration   # version 2 restores
 *
 * Version 1 of `Customer` kept the whole name in `fullName`. Version 2 keeps `firstName`
 * and `lastName` and adds `newsletter`; `migrations[1]` turns version-1 data into
 * version-2 data when it is restored. Each process declares only its own version, as a
 * deployed application would (class names are unique in a process).
 */
import 'reflect-metadata';
import { Checkpointable, CheckpointField, CheckpointManager, FileStorage } from 'checkpointable';

/** The class as the old deploy had it. */
function customerVersion1() {
  @Checkpointable({ name: 'sample.Customer', version: 1 })
  class Customer {
    @CheckpointField() fullName!: string;
    @CheckpointField() since!: Date;
  }
  return Customer;
}

/** The class as the new deploy has it, with the step that upgrades version 1. */
function customerVersion2() {
  @Checkpointable({
    name: 'sample.Customer',
    version: 2,
    migrations: {
      // Receives the fields stored at version 1 (Dates already revived), returns version 2's.
      1: ({ fullName, since }) => {
        const [firstName, ...rest] = String(fullName).split(' ');
        return { firstName, lastName: rest.join(' '), since, newsletter: false };
      },
    },
  })
  class Customer {
    @CheckpointField() firstName!: string;
    @CheckpointField() lastName!: string;
    @CheckpointField() since!: Date;
    @CheckpointField() newsletter!: boolean;
  }
  return Customer;
}

async function main(): Promise<void> {
  const [step, folder = './var/migration'] = process.argv.slice(2);
  const manager = new CheckpointManager(await FileStorage.open(folder));
  try {
    if (step === 'save') {
      const Customer = customerVersion1();
      const ada = Object.assign(new Customer(), {
        fullName: 'Ada King Lovelace',
        since: new Date('1843-07-01T00:00:00.000Z'),
      });
      const info = await manager.save('customers-v1', { ada });
      console.log(JSON.stringify({ saved: info.identifier, classes: info.classes }));
    } else if (step === 'restore') {
      const Customer = customerVersion2();
      const ada = await manager.restore('customers-v1', 'ada', Customer);
      console.log(
        JSON.stringify({
          isVersion2: ada instanceof Customer,
          firstName: ada.firstName,
          lastName: ada.lastName,
          since: ada.since.toISOString(),
          newsletter: ada.newsletter,
        }),
      );
    } else {
      console.error('usage: migration.ts save|restore [folder]');
      process.exitCode = 2;
    }
  } finally {
    await manager.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
