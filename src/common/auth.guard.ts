import { timingSafeEqual } from 'node:crypto';
import { CanActivate, ExecutionContext, Inject, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { ApiErrorCode, ApiException } from './api.exception';

export const API_TOKEN = Symbol('API_TOKEN');
const PUBLIC = 'hl7claims:public';
/** Marks a route that needs no token (health). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(PUBLIC, true);

/** `Authorization: Bearer <API_TOKEN>` on every route but the public ones. */
@Injectable()
export class BearerAuthGuard implements CanActivate {
  private readonly expected: Buffer;

  constructor(
    @Inject(API_TOKEN) token: string,
    private readonly reflector: Reflector,
  ) {
    this.expected = Buffer.from(token);
  }

  canActivate(context: ExecutionContext): boolean {
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC, [context.getHandler(), context.getClass()])) return true;
    const req = context.switchToHttp().getRequest<Request>();
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    const given = Buffer.from(m?.[1] ?? '');
    if (given.length !== this.expected.length || !timingSafeEqual(given, this.expected)) {
      throw new ApiException(ApiErrorCode.Unauthorized, 'missing or wrong bearer token (Authorization: Bearer <API_TOKEN>)');
    }
    return true;
  }
}
