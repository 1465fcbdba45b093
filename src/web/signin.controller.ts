import { randomBytes } from 'node:crypto';
import { Body, Controller, Get, HttpCode, Inject, Post, Query, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public } from '../common/auth.guard';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { StaffError, StaffService, type StaffSession } from '../modules/staff/staff.service';
import { html } from './html';
import { clearCookie, clientIp, cookies, safeNext, setCookie } from './http';
import { page } from './layout';
import { actorOf, DuringPasswordChange, sameToken, SESSION_COOKIE, Staff, StaffPageFilter, StaffSessionGuard } from './session.guard';
import { SignInRateLimit } from '../common/rate-limit';

/** The sign-in form's own CSRF token (there is no session yet): a cookie the form must repeat. */
const SIGNIN_COOKIE = 'hl7c_signin';
const REFUSED = 'The email or password is wrong, or the account is locked or disabled. After 5 failed attempts an account is locked for 15 minutes.';

function signInPage(token: string, next: string, email: string, error: string | null): string {
  return page({
    title: 'Sign in',
    session: null,
    body: html`<div class="narrow"><h1>Sign in</h1>
      ${error !== null ? html`<p class="error" role="alert" id="signin-error">${error}</p>` : ''}
      <form method="post" action="/signin" ${error !== null ? html`aria-describedby="signin-error"` : ''}>
        <input type="hidden" name="_csrf" value="${token}">
        <input type="hidden" name="next" value="${next}">
        <div class="field"><label for="email">Email</label><input id="email" name="email" type="email" autocomplete="username" required value="${email}" autofocus></div>
        <div class="field"><label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required></div>
        <button type="submit">Sign in</button>
      </form>
      <p class="muted">Accounts are made by an admin (<code>hl7-claims users add</code>).</p></div>`,
  });
}

@ApiExcludeController()
@Public()
@Controller()
export class SignInController {
  constructor(
    private readonly staff: StaffService,
    private readonly rateLimit: SignInRateLimit,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  private get secure(): boolean {
    return this.config.HTTP_TLS_CERT !== undefined;
  }

  private signInToken(req: Request, res: Response): string {
    const have = cookies(req).get(SIGNIN_COOKIE);
    if (have !== undefined && /^[A-Za-z0-9_-]{32}$/.test(have)) return have;
    const token = randomBytes(24).toString('base64url');
    setCookie(res, SIGNIN_COOKIE, token, { secure: this.secure, sameSite: 'Strict' });
    return token;
  }

  @Get('signin')
  signInForm(@Req() req: Request, @Res() res: Response, @Query('next') next?: string): void {
    res.type('html').send(signInPage(this.signInToken(req, res), safeNext(next), '', null));
  }

  @Post('signin')
  @HttpCode(200)
  async signIn(@Req() req: Request, @Res() res: Response, @Body() body: Record<string, unknown>): Promise<void> {
    const email = typeof body.email === 'string' ? body.email : '';
    const password = typeof body.password === 'string' ? body.password : '';
    const next = safeNext(body.next);
    const expected = cookies(req).get(SIGNIN_COOKIE);
    if (expected === undefined || typeof body._csrf !== 'string' || !sameToken(body._csrf, expected)) {
      res.status(403).type('html').send(signInPage(this.signInToken(req, res), next, email, 'The sign-in form had expired. Try again.'));
      return;
    }
    const wait = await this.rateLimit.attempt(clientIp(req));
    if (wait > 0) {
      await this.staff.signInRefused(clientIp(req), 'rate_limited');
      res.status(429).setHeader('Retry-After', String(wait));
      res.type('html').send(signInPage(expected, next, email, `Too many sign-in attempts from this address. Try again in ${Math.ceil(wait / 60)} minute${wait > 60 ? 's' : ''}.`));
      return;
    }
    const r = email === '' || password === '' ? null : await this.staff.signIn(email, password, clientIp(req));
    if (r === null) {
      res.status(401).type('html').send(signInPage(expected, next, email, REFUSED));
      return;
    }
    clearCookie(res, SIGNIN_COOKIE, this.secure);
    setCookie(res, SESSION_COOKIE, r.token, { secure: this.secure, sameSite: 'Lax' });
    res.redirect(303, r.session.mustChangePassword ? '/account/password' : next);
  }

  @Post('signout')
  @UseGuards(StaffSessionGuard)
  @UseFilters(StaffPageFilter)
  @DuringPasswordChange()
  async signOut(@Req() req: Request, @Res() res: Response, @Staff() session: StaffSession): Promise<void> {
    await this.staff.signOut(session, clientIp(req));
    clearCookie(res, SESSION_COOKIE, this.secure);
    res.redirect(303, '/signin');
  }

  @Get('account/password')
  @UseGuards(StaffSessionGuard)
  @UseFilters(StaffPageFilter)
  @DuringPasswordChange()
  passwordForm(@Res() res: Response, @Staff() session: StaffSession): void {
    res.type('html').send(this.passwordPage(session, null, false));
  }

  @Post('account/password')
  @HttpCode(200)
  @UseGuards(StaffSessionGuard)
  @UseFilters(StaffPageFilter)
  @DuringPasswordChange()
  async changePassword(@Req() req: Request, @Res() res: Response, @Staff() session: StaffSession, @Body() body: Record<string, unknown>): Promise<void> {
    const current = typeof body.current === 'string' ? body.current : '';
    const next = typeof body.password === 'string' ? body.password : '';
    const again = typeof body.again === 'string' ? body.again : '';
    let error: string | null = null;
    if (!(await this.staff.checkPassword(session.userId, current))) error = 'The current password is wrong.';
    else if (next !== again) error = 'The new password and its repetition differ.';
    else if (next === current) error = 'The new password must differ from the current one.';
    else {
      try {
        await this.staff.setPassword(session.userId, next, { mustChange: false, actor: actorOf(req), keepSession: session.tokenSha256 });
      } catch (e) {
        if (!(e instanceof StaffError)) throw e;
        error = `${e.message[0]?.toUpperCase() ?? ''}${e.message.slice(1)}.`;
      }
    }
    if (error !== null) {
      res.status(400).type('html').send(this.passwordPage(session, error, false));
      return;
    }
    res.type('html').send(this.passwordPage({ ...session, mustChangePassword: false }, null, true));
  }

  private passwordPage(session: StaffSession, error: string | null, done: boolean): string {
    return page({
      title: 'Change password',
      session,
      section: 'account',
      body: html`<div class="narrow"><h1>Change password</h1>
        ${session.mustChangePassword ? html`<p class="notice">Your password was set for one use: choose your own to go on.</p>` : ''}
        ${done ? html`<p class="notice" role="status">Your password is changed. Your other sessions were signed out. <a href="/">Go to the work queue</a></p>` : ''}
        ${error !== null ? html`<p class="error" role="alert" id="pw-error">${error}</p>` : ''}
        <form method="post" action="/account/password">
          <input type="hidden" name="_csrf" value="${session.csrfToken}">
          <div class="field"><label for="current">Current password</label><input id="current" name="current" type="password" autocomplete="current-password" required></div>
          <div class="field"><label for="password">New password</label><input id="password" name="password" type="password" autocomplete="new-password" minlength="12" required aria-describedby="pw-rule"><span id="pw-rule" class="muted">At least 12 characters.</span></div>
          <div class="field"><label for="again">New password again</label><input id="again" name="again" type="password" autocomplete="new-password" required></div>
          <button type="submit">Change password</button>
        </form></div>`,
    });
  }
}
