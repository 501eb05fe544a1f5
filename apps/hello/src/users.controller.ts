import { Body, Controller, Get, Param, Post } from '@nestjs/common';

import { type User, UsersService } from './users.service';

@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get(':id')
  find(@Param('id') id: string): Promise<User> {
    return this.users.find(id);
  }

  @Post()
  create(@Body() body: { name?: string }): User {
    return { id: '1', name: body?.name ?? 'anonymous' };
  }
}
