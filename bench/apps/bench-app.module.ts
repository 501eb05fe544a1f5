import { type DynamicModule, Module, type ModuleMetadata } from '@nestjs/common';

import { BenchStatsService } from './bench-stats.service';
import { UsersController } from './users.controller';

/** The bench app's root module; each variant adds its observability stack. */
@Module({})
export class BenchAppModule {
  /**
   * The same controller and stats provider in every variant, plus what the
   * variant's stack needs (its modules, interceptors, shutdown hooks).
   */
  static with(extra: Pick<ModuleMetadata, 'imports' | 'providers'> = {}): DynamicModule {
    return {
      module: BenchAppModule,
      imports: extra.imports ?? [],
      controllers: [UsersController],
      providers: [BenchStatsService, ...(extra.providers ?? [])],
    };
  }
}
