import { timingSafeEqual } from 'node:crypto';
import { ArgumentsHost, CanActivate, Catch, createParamDecorator, ExceptionFilter, ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import type { Actor } from '../modules/staff/audit.service';
import { StaffService, type Role, type StaffSession } from '../modules/staff/staff.service';
import { clientIp, cookies } from './http';
import { messagePage } from './layout';

export const SESSION_COOKIE = 'hl7c_session';
const ROLES_KEY = 'hl7claims:web-roles';
const PASSWORD_CHANGE_KEY = 'hl7claims:web-password-change';

/** The roles that may use a page or action (any signed-in person when absent). */
export const Roles = (...roles: Role[]): MethodDecorator & ClassDecorator => SetMetadata(ROLES_KEY, roles);
/** A route that stays open while a person must change a one-time password (the change itself, sign-out). */
export const DuringPasswordChange = (): MethodDecorator => SetMetadata(PASSWORD_CHANGE_KEY, true);

export type StaffRequest = Request & { staff: StaffSession };

/** The signed-in person of a request behind StaffSessionGuard. */
export const Staff = createParamDecorator((_: unknown, ctx: ExecutionContext): StaffSession => ctx.switchToHttp().getRequest<StaffRequest>().staff);

/** The person as an audit actor, with their address. */
export function actorOf(req: Request): Actor {
  const s = (req as Partial<StaffRequest>).staff;
  return { userId: s?.userId ?? null, name: s?.email ?? 'anonymous', ip: clientIp(req) };
}

export class SignInRequired extends Error {
  constructor(readonly next: string) {
    super('sign in first');
  }
}
export class PasswordChangeRequired extends Error {}
export class WebForbidden extends Error {}
export class CsrfRefused extends Error {}

export function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/**
 * The staff app's guard: a live session from the cookie (else to the sign-in page), a forced
 * password change first when the password was one-time, the form's or htmx header's CSRF token on
 * every request that changes something (the session's own token, compared in constant time), and
 * the route's roles.
 */
@Injectable()
export class StaffSessionGuard implements CanActivate {
  constructor(
    private readonly staff: StaffService,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<StaffRequest>();
    const token = cookies(req).get(SESSION_COOKIE);
    const session = token === undefined ? null : await this.staff.session(token);
    if (session === null) throw new SignInRequired(req.method === 'GET' ? req.originalUrl : '/');
    req.staff = session;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      const body = req.body as Record<string, unknown> | undefined;
      const given = typeof body?._csrf === 'string' ? body._csrf : req.headers['x-csrf-token'];
      if (typeof given !== 'string' || !sameToken(given, session.csrfToken)) throw new CsrfRefused();
    }
    const targets = [context.getHandler(), context.getClass()];
    if (session.mustChangePassword && !this.reflector.getAllAndOverride<boolean>(PASSWORD_CHANGE_KEY, targets)) throw new PasswordChangeRequired();
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, targets);
    if (roles !== undefined && !roles.includes(session.role)) throw new WebForbidden();
    return true;
  }
}

/** What the guard's refusals look like to a person (a page) and to htmx (a redirect header). */
@Catch(SignInRequired, PasswordChangeRequired, WebForbidden, CsrfRefused)
export class StaffPageFilter implements ExceptionFilter {
  catch(e: Error, host: ArgumentsHost): void {
    const req = host.switchToHttp().getRequest<StaffRequest>();
    const res = host.switchToHttp().getResponse<Response>();
    const htmx = req.headers['hx-request'] === 'true';
    const redirect = (to: string, status: number): void => {
      if (htmx) res.status(status).setHeader('HX-Redirect', to).end();
      else res.redirect(303, to);
    };
    if (e instanceof SignInRequired) { redirect(`/signin${e.next === '/' ? '' : `?next=${encodeURIComponent(e.next)}`}`, 401); return; }
    if (e instanceof PasswordChangeRequired) { redirect('/account/password', 403); return; }
    const session = req.staff as StaffSession | undefined;
    if (e instanceof CsrfRefused) {
      res.status(403).type('html').send(messagePage(session ?? null, 'The form has expired', 'This page was opened in another session or too long ago. Go back, reload the page and try again.'));
      return;
    }
    res.status(403).type('html').send(messagePage(session ?? null, 'Not allowed', `Your role (${session?.role ?? 'none'}) cannot do this. Ask an admin if you need it.`));
  }
}
