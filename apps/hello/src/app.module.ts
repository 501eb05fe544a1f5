import { Controller, Get, Module } from '@nestjs/common';
import { ObservabilityModule, type ObservabilityModuleOptions } from 'nestjs-observability';

import { DemoController } from './demo.controller';
import { QuotesController } from './quotes.controller';
import { UsersController } from './users.controller';
import { UsersService } from './users.service';

@Controller()
export class HelloController {
  @Get()
  hello(): { message: string } {
    return { message: 'hello' };
  }
}

/** The hello app's module; `options` lets tests point logs at a capture. */
@Module({})
export class AppModule {
  static register(options: ObservabilityModuleOptions = {}) {
    return {
      module: AppModule,
      imports: [ObservabilityModule.forRoot({ serviceName: 'hello', ...options })],
      controllers: [HelloController, UsersController, QuotesController, DemoController],
      providers: [UsersService],
    };
  }
}
