import { timingSafeEqual } from 'node:crypto';
import { CanActivate, createParamDecorator, ExecutionContext, Inject, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { ApiTokensService, isPersonalToken } from '../modules/staff/api-tokens.service';
import { AuditService } from '../modules/staff/audit.service';
import type { Role } from '../modules/staff/staff.service';
import { ApiErrorCode, ApiException } from './api.exception';

export const API_TOKEN = Symbol('API_TOKEN');
const PUBLIC = 'hl7claims:public';
const API_ROLES = 'hl7claims:api-roles';
/** Marks a route that needs no token (health). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(PUBLIC, true);
/**
 * The roles whose personal tokens may call a route. Without it: any role may read (GET), a biller
 * or an admin may change things. The service's API_TOKEN may call every route.
 */
export const ApiRoles = (...roles: Role[]): MethodDecorator & ClassDecorator => SetMetadata(API_ROLES, roles);

/** Who made an API request: `api` for the service's token, `api:<email>` for a person's token. */
interface ApiRequest extends Request {
  apiActor?: string;
}

/** The actor an API request's changes are recorded under (claim events, overrides, matches). */
export const ApiActor = createParamDecorator((_: unknown, ctx: ExecutionContext): string => ctx.switchToHttp().getRequest<ApiRequest>().apiActor ?? 'api');

/**
 * `Authorization: Bearer <token>` on every route but the public ones: the service's API_TOKEN
 * (machine clients), or a person's token (`hl7-claims users token EMAIL`) with that person's role,
 * each of whose requests is an audit row.
 */
@Injectable()
export class BearerAuthGuard implements CanActivate {
  private readonly expected: Buffer;

  constructor(
    @Inject(API_TOKEN) token: string,
    private readonly reflector: Reflector,
    private readonly tokens: ApiTokensService,
    private readonly audit: AuditService,
  ) {
    this.expected = Buffer.from(token);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC, [context.getHandler(), context.getClass()])) return true;
    const req = context.switchToHttp().getRequest<ApiRequest>();
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    const given = Buffer.from(m?.[1] ?? '');
    if (given.length === this.expected.length && timingSafeEqual(given, this.expected)) {
      req.apiActor = 'api';
      return true;
    }
    const person = m?.[1] !== undefined && isPersonalToken(m[1]) ? await this.tokens.user(m[1]) : null;
    if (person === null) throw new ApiException(ApiErrorCode.Unauthorized, 'missing or wrong bearer token (Authorization: Bearer <API_TOKEN or a personal token>)');
    const allowed = this.reflector.getAllAndOverride<Role[] | undefined>(API_ROLES, [context.getHandler(), context.getClass()])
      ?? (req.method === 'GET' || req.method === 'HEAD' ? ['viewer', 'biller', 'admin'] : ['biller', 'admin']);
    const actor = { userId: person.userId, name: person.email, ip: req.ip ?? null };
    // Ids only in the path; the query string may carry search terms and is not kept.
    const route = `${req.method} ${req.path}`;
    if (!allowed.includes(person.role)) {
      await this.audit.record(actor, { action: 'api.refused', objectType: 'http', objectId: route, detail: { role: person.role, tokenId: person.tokenId } });
      throw new ApiException(ApiErrorCode.Forbidden, `a ${person.role}'s token may not ${req.method === 'GET' ? 'read this' : 'do this'} (allowed: ${allowed.join(', ')})`);
    }
    await this.audit.record(actor, { action: 'api.request', objectType: 'http', objectId: route, detail: { tokenId: person.tokenId } });
    req.apiActor = `api:${person.email}`;
    return true;
  }
}
