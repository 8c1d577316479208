import { MemoryStorage, GuardWrapper } from 'checkpointable';
import { storageConformance } from 'checkpointable/testing';

storageConformance('MemoryStorage.create() (guarded)', {
  create: async () => MemoryStorage.create(),
  capabilities: { guarded: true, labels: true },
});

storageConformance('new MemoryStorage() (bare)', {
  create: async () => new MemoryStorage(),
  capabilities: { guarded: false, labels: true },
});

storageConformance('GuardWrapper over a bare MemoryStorage', {
  create: async () => GuardWrapper.wrap(new MemoryStorage()),
  capabilities: { guarded: true, labels: true },
});
