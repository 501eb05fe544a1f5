import { ConfigurableModuleBuilder } from '@nestjs/common';

import type { ObservabilityModuleOptions } from './config/options.interface';

export const {
  ConfigurableModuleClass: ConfigurableObservabilityModule,
  MODULE_OPTIONS_TOKEN: OBSERVABILITY_MODULE_OPTIONS,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<ObservabilityModuleOptions>({ moduleName: 'Observability' })
  .setClassMethodName('forRoot')
  // Shapes the module graph, so it is a synchronous extra, never the output of an async factory.
  .setExtras({ isGlobal: true }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();
