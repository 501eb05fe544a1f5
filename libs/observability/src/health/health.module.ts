import { type DynamicModule, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';

import type { ResolvedObservabilityOptions } from '../config/options.interface';
import { OPTIONS } from '../work/work.constants';
import { HEALTH_OPTIONS } from './health.constants';
import { HealthEndpoint } from './health.endpoint';
import { HealthService } from './health.service';
import { ShutdownService } from './shutdown.service';

/**
 * The health pillar: `HealthService` (always: indicators can be registered
 * whatever the switches) and, when health is on, the probes served before
 * Nest's router and the shutdown sequence. Terminus builds the bodies; its own
 * logger is off, because it would log every failing probe where this library
 * logs each change of an indicator's state once.
 * @internal
 */
@Module({})
export class HealthModule {
  static register(enabled: boolean): DynamicModule {
    return {
      module: HealthModule,
      imports: [TerminusModule.forRoot({ logger: false })],
      providers: [
        { provide: HEALTH_OPTIONS, useFactory: ({ health }: ResolvedObservabilityOptions) => health, inject: [OPTIONS] },
        ShutdownService,
        HealthService,
        ...(enabled ? [HealthEndpoint] : []),
      ],
      exports: [HealthService],
    };
  }
}
