import { Controller, Get, Param } from '@nestjs/common';

import { BenchStatsService } from './bench-stats.service';

/** The small JSON every variant returns. */
export interface BenchUser {
  id: string;
  name: string;
}

/** The one measured route, identical in every variant. */
@Controller('users')
export class UsersController {
  constructor(private readonly stats: BenchStatsService) {}

  @Get(':id')
  async find(@Param('id') id: string): Promise<BenchUser> {
    // Stands in for a database call: the request's context must survive a real
    // trip through the event loop, not just a resolved promise.
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.stats.handled++;
    return { id, name: `user-${id}` };
  }
}
