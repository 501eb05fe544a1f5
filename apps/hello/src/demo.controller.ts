import { Body, Controller, Get, HttpException, HttpStatus, Post, Query, ServiceUnavailableException } from '@nestjs/common';

/**
 * What failures look like: each route fails on purpose so that the error
 * line, the error report, the errored span and the client's safe body can be seen.
 */
@Controller('demo')
export class DemoController {
  /** An unexpected error whose message carries request data. */
  @Post('fail')
  fail(@Body() body: { email?: string; card?: string }): never {
    throw new Error(`charging ${body?.email ?? 'nobody'} with card ${body?.card ?? 'none'} failed`);
  }

  /** A client error: Nest's own 4xx body, a warn line, no report. */
  @Get('bad-request')
  badRequest(@Query('reason') reason = 'missing field'): never {
    throw new HttpException(reason, HttpStatus.BAD_REQUEST);
  }

  /** A 5xx HttpException: reported, and the client still gets a generic body. */
  @Get('unavailable')
  unavailable(): never {
    throw new ServiceUnavailableException('pool exhausted on db-primary.internal:5432');
  }

  /**
   * A fire-and-forget job that fails after the response: an unhandled rejection. By default it is
   * logged, reported and flushed, and the process exits 1 as Node would; with
   * `errors: { unhandledRejections: 'warn' }` the app keeps serving.
   */
  @Post('background-failure')
  backgroundFailure(): { accepted: true } {
    void Promise.reject(new Error('nightly export failed for ops@example.com'));
    return { accepted: true };
  }

  /**
   * An exception nothing catches: logged at fatal, reported, flushed, then the
   * process exits as Node would. Only with `DEMO_CRASH=1`, so it is never hit by accident.
   */
  @Post('crash')
  crash(): { crashing: boolean } {
    if (process.env.DEMO_CRASH !== '1') return { crashing: false };
    setImmediate(() => {
      throw new Error('invariant broken in the ledger');
    });
    return { crashing: true };
  }

  /** An error in the shape of http-errors (own status and message): treated as unknown, 500. */
  @Get('library-error')
  libraryError(): never {
    throw Object.assign(new Error('upstream said: secret internals'), { statusCode: 418, status: 418, expose: true });
  }
}
