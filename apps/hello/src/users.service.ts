import { Injectable, NotFoundException } from '@nestjs/common';
import { PinoLogger, Traced } from 'nestjs-observability';

export interface User {
  id: string;
  name: string;
}

@Injectable()
export class UsersService {
  constructor(private readonly logger: PinoLogger) {
    logger.setContext(UsersService.name);
  }

  @Traced()
  async find(id: string): Promise<User> {
    // Stands in for a database call: the span covers real asynchronous work.
    await new Promise((resolve) => setImmediate(resolve));
    if (id === '0') throw new NotFoundException(`user ${id} not found`);
    this.logger.info({ user_id: id }, 'user loaded');
    return { id, name: `user-${id}` };
  }
}
