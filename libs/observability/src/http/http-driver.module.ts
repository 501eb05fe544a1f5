import { type MiddlewareConsumer, Module, type NestModule } from '@nestjs/common';

import { HttpObserver } from './http-observer';

/**
 * The HTTP driver of the unit of work: one per-request hook in front of the
 * server's request listener. It needs the core's options, scrubber, request
 * context and work pipeline.
 * @internal
 */
@Module({ providers: [HttpObserver] })
export class HttpDriverModule implements NestModule {
  constructor(private readonly observer: HttpObserver) {}

  /**
   * Runs while Nest registers middleware: after its body parsers, before any
   * middleware or route, the point where the per-request hook must go in.
   */
  configure(_consumer: MiddlewareConsumer): void {
    this.observer.install();
  }
}
