import {
  Inject,
  Module,
  Optional,
  type BeforeApplicationShutdown,
  type DynamicModule,
  type OnApplicationShutdown,
  type OnModuleInit,
  type Provider,
} from '@nestjs/common';
import { DiscoveryModule, DiscoveryService } from '@nestjs/core';
import { CheckpointError } from '../errors';
import { AUTOMATIC_STATE_DRIVER, type AutomaticStateDriver } from './automatic-state';
import { assignAutomaticState } from './automatic-state-assignment';
import { CheckpointConnection } from './checkpoint-connection';
import { CheckpointHealthIndicator } from './checkpoint-health-indicator';
import type {
  CheckpointModuleAsyncOptions,
  CheckpointModuleOptions,
  CheckpointOptionsFactory,
} from './checkpoint-module-options';
import {
  checkpointName,
  connectionToken,
  DEFAULT_CHECKPOINT_NAME,
  getCheckpointManagerToken,
  getCheckpointStorageToken,
} from './checkpoint-tokens';
import { checkpointedStateDriver } from './checkpointed-state-driver';

/** Tokens local to one dynamic module: never exported, so every import has its own. */
const OPTIONS = Symbol('checkpointable.nestjs.options');
const CONNECTION = Symbol('checkpointable.nestjs.connection');

/**
 * The NestJS module of checkpointable: opens the configured storage and wrapper chain at
 * startup, provides `CheckpointManager` (injectable by type) and the storage
 * (`@Inject(CHECKPOINT_STORAGE)`), runs the automatic state of the providers with
 * `@CheckpointedState` (restored in `onModuleInit`, saved by their policy and once more in
 * `beforeApplicationShutdown`), and closes the storage exactly once when the application
 * shuts down (`onApplicationShutdown`, after every `beforeApplicationShutdown`, so services
 * can still save there). Import it once per storage; give each extra storage a `name`.
 *
 * @example
 * ```ts
 * @Injectable()
 * @CheckpointedState({ series: 'orders', debounce: 500 })
 * class OrderBookService {
 *   @CheckpointField() orders: string[] = [];
 *   place(id: string) {
 *     this.orders.push(id);
 *     requestSave(this);
 *   }
 * }
 *
 * @Module({
 *   imports: [CheckpointModule.forRoot({ storage: 'file:./var/checkpoints', isGlobal: true })],
 *   providers: [OrderBookService],
 * })
 * class AppModule {}
 * ```
 */
@Module({})
export class CheckpointModule
  implements OnModuleInit, BeforeApplicationShutdown, OnApplicationShutdown
{
  /** @internal Nest creates the module; its parts are not for applications. */
  constructor(
    @Inject(CONNECTION) private readonly connection: CheckpointConnection,
    private readonly discovery: DiscoveryService,
    @Optional()
    @Inject(AUTOMATIC_STATE_DRIVER)
    private readonly automaticState: AutomaticStateDriver | undefined,
  ) {}

  /**
   * Configures the module with options known when the module is declared.
   * @throws {CheckpointError} `Initialization` for an unusable name (at once); for a bad
   *   storage, wrapper, `services` or `onError` option, when the application starts
   *
   * @example
   * ```ts
   * CheckpointModule.forRoot({ storage: 'postgres://app@db/app?table=orders_ckpt', wrappers: ['checksum'] });
   * CheckpointModule.forRoot({ name: 'audit', storage: 'file:./var/audit' });
   * ```
   */
  static forRoot(options: CheckpointModuleOptions): DynamicModule {
    const name = checkpointName(options?.name);
    return CheckpointModule.build(
      name,
      options?.isGlobal,
      [],
      [
        { provide: OPTIONS, useValue: options },
        {
          provide: connectionToken(name),
          useFactory: (given: CheckpointModuleOptions) =>
            CheckpointConnection.open(name, given, 'forRoot', given ?? {}),
          inject: [OPTIONS],
        },
      ],
    );
  }

  /**
   * Configures the module with options made at startup, by a factory with injected
   * providers (typically a ConfigService), or by a class implementing
   * `CheckpointOptionsFactory`.
   * @throws {CheckpointError} `Initialization` for an unusable name, or not exactly one of
   *   `useFactory`, `useClass`, `useExisting` (at once); for bad options, at startup
   *
   * @example
   * ```ts
   * CheckpointModule.forRootAsync({
   *   imports: [ConfigModule],
   *   inject: [ConfigService],
   *   useFactory: (config: ConfigService) => ({ storage: config.get('CHECKPOINT_STORAGE') }),
   *   isGlobal: true,
   * });
   * ```
   */
  static forRootAsync(options: CheckpointModuleAsyncOptions): DynamicModule {
    const name = checkpointName(options?.name);
    const ways = (['useFactory', 'useClass', 'useExisting'] as const).filter(
      (way) => options?.[way] !== undefined,
    );
    if (ways.length !== 1) {
      throw new CheckpointError(
        'Initialization',
        `CheckpointModule.forRootAsync() takes exactly one of useFactory, useClass and useExisting; it got ${ways.length === 0 ? 'none' : ways.join(' and ')}.`,
      );
    }
    const providers: Provider[] = [];
    if (options.useFactory !== undefined) {
      providers.push({
        provide: OPTIONS,
        useFactory: options.useFactory as (...args: unknown[]) => unknown,
        inject: options.inject ?? [],
      });
    } else {
      const factory = (options.useClass ?? options.useExisting)!;
      if (options.useClass !== undefined) providers.push(options.useClass);
      providers.push({
        provide: OPTIONS,
        useFactory: (made: CheckpointOptionsFactory) => made.createCheckpointOptions(),
        inject: [factory],
      });
    }
    providers.push({
      provide: connectionToken(name),
      useFactory: (given: unknown) =>
        CheckpointConnection.open(name, given, 'forRootAsync', {
          services: options.services,
          onError: options.onError,
        }),
      inject: [OPTIONS],
    });
    return CheckpointModule.build(name, options.isGlobal, options.imports ?? [], providers);
  }

  private static build(
    name: string,
    isGlobal: boolean | undefined,
    imports: NonNullable<CheckpointModuleAsyncOptions['imports']>,
    providers: Provider[],
  ): DynamicModule {
    const managerToken = getCheckpointManagerToken(name);
    const storageToken = getCheckpointStorageToken(name);
    return {
      module: CheckpointModule,
      global: isGlobal === true,
      imports: [...imports, DiscoveryModule],
      providers: [
        ...providers,
        { provide: CONNECTION, useExisting: connectionToken(name) },
        {
          provide: managerToken,
          useFactory: (c: CheckpointConnection) => c.manager,
          inject: [CONNECTION],
        },
        {
          provide: storageToken,
          useFactory: (c: CheckpointConnection) => c.storage,
          inject: [CONNECTION],
        },
        CheckpointHealthIndicator,
      ],
      exports: [managerToken, storageToken, CheckpointHealthIndicator],
    };
  }

  /**
   * Refuses a second module with this storage name, then restores the state of the
   * providers with `@CheckpointedState` this storage keeps and starts their autosave,
   * before the application serves. A failure closes every checkpoint storage of the
   * application before it goes up, as Nest runs no shutdown hook for an application that
   * did not start.
   * @throws {CheckpointError} `Initialization` when two modules share a storage name, a
   *   `@CheckpointedState` provider is not a singleton or has no storage (or two), or a
   *   class in `services` is not provided; what restoring throws (`Deserialize`, ...)
   */
  async onModuleInit(): Promise<void> {
    const name = this.connection.name;
    const providers = this.discovery.getProviders();
    // Each connection is listed under its own token and under its module's alias.
    const connections = new Set(
      providers
        .map((wrapper): unknown => wrapper.instance)
        .filter((instance) => instance instanceof CheckpointConnection),
    );
    try {
      const sameName = providers.filter((wrapper) => wrapper.token === connectionToken(name));
      if (sameName.length > 1) {
        throw new CheckpointError(
          'Initialization',
          name === DEFAULT_CHECKPOINT_NAME
            ? "CheckpointModule is imported twice without a name, with different options; import it once, or give the other storages a name: CheckpointModule.forRoot({ name: 'audit', ... })."
            : `CheckpointModule is imported twice with the name ${JSON.stringify(name)}, with different options; give each storage its own name.`,
        );
      }
      const driver = this.automaticState ?? checkpointedStateDriver;
      const instances = new Set<object>();
      for (const wrapper of [...providers, ...this.discovery.getControllers()]) {
        const instance: unknown = wrapper.instance;
        if (wrapper.isTransient || !wrapper.isDependencyTreeStatic()) {
          const type: unknown = wrapper.metatype;
          if (typeof type === 'function' && driver.carries(type)) {
            throw new CheckpointError(
              'Initialization',
              `${type.name} has @CheckpointedState but is ${wrapper.isTransient ? 'transient' : 'request-scoped (or depends on a request-scoped provider)'}, so Nest makes more than one instance and the state restored would not be the one in use; make it a singleton (the default scope).`,
            );
          }
          continue;
        }
        if (instance !== null && typeof instance === 'object') instances.add(instance);
      }
      const assigned = assignAutomaticState(instances, [...connections], driver);
      await this.connection.start(assigned.get(name) ?? [], driver);
    } catch (error) {
      // Nest stops at the first failing hook and runs no shutdown hook for an application
      // that did not start: every storage is closed here (the started ones after their
      // final saves).
      for (const connection of connections) await connection.close().catch(() => undefined);
      throw error;
    }
  }

  /**
   * Saves the automatic state once more (services whose policy has `onShutdown`, the
   * default) and stops its timers; the storage stays open for other providers' hooks.
   */
  beforeApplicationShutdown(): Promise<void> {
    return this.connection.beforeShutdown();
  }

  /** Closes the storage, once. */
  onApplicationShutdown(): Promise<void> {
    return this.connection.close();
  }
}
