import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public } from '../common/auth.guard';
import { generatePassword } from '../lib/password';
import { AuditService, type AuditQuery } from '../modules/staff/audit.service';
import { ROLES, StaffError, StaffService, type StaffSession, type StaffUser } from '../modules/staff/staff.service';
import { csvRow } from './csv';
import { html, query, type Html } from './html';
import { page } from './layout';
import { actorOf, Roles, Staff, StaffPageFilter, StaffSessionGuard } from './session.guard';

const AUDIT_PAGE = 100;

function usersPage(session: StaffSession, users: StaffUser[], message: Html | null, error: string | null): string {
  const csrf = html`<input type="hidden" name="_csrf" value="${session.csrfToken}">`;
  return page({
    title: 'Users',
    session,
    section: 'admin',
    body: html`<h1>Users</h1>
      ${message !== null ? html`<div class="notice" role="status">${message}</div>` : ''}
      ${error !== null ? html`<p class="error" role="alert">${error}</p>` : ''}
      <table><caption>${users.length} account${users.length === 1 ? '' : 's'}</caption>
        <thead><tr><th scope="col">Email</th><th scope="col">Role</th><th scope="col">State</th><th scope="col">Last sign-in</th><th scope="col">Action</th></tr></thead>
        <tbody>${users.map((u) => html`<tr>
          <td>${u.email}</td><td>${u.role}</td>
          <td>${u.disabled ? 'disabled' : u.lockedUntil !== null ? `locked until ${u.lockedUntil}` : u.mustChangePassword ? 'one-time password' : 'active'}</td>
          <td>${u.lastSignInAt ?? 'never'}</td>
          <td><form method="post" action="/admin/users/${u.id}/${u.disabled ? 'enable' : 'disable'}">${csrf}<button type="submit" class="secondary" aria-label="${u.disabled ? 'Enable' : 'Disable'} ${u.email}">${u.disabled ? 'Enable' : 'Disable'}</button></form></td>
        </tr>`)}</tbody></table>
      <h2>Add an account</h2>
      <form method="post" action="/admin/users" class="filters">${csrf}
        <div class="field"><label for="new-email">Email</label><input id="new-email" name="email" type="email" required></div>
        <div class="field"><label for="new-role">Role</label><select id="new-role" name="role">${ROLES.map((r) => html`<option value="${r}"${r === 'biller' ? html` selected` : ''}>${r}</option>`)}</select></div>
        <button type="submit">Add with a one-time password</button>
      </form>
      <p class="muted">The one-time password is shown once; the person chooses their own at first sign-in.</p>`,
  });
}

/** Admin pages: accounts and the audit trail (viewing and exporting the trail is itself audited). */
@ApiExcludeController()
@Public()
@UseGuards(StaffSessionGuard)
@UseFilters(StaffPageFilter)
@Roles('admin')
@Controller('admin')
export class AdminController {
  constructor(
    private readonly staff: StaffService,
    private readonly audit: AuditService,
  ) {}

  @Get('users')
  async users(@Res() res: Response, @Staff() session: StaffSession): Promise<void> {
    res.type('html').send(usersPage(session, await this.staff.listUsers(), null, null));
  }

  @Post('users')
  @HttpCode(200)
  async addUser(@Req() req: Request, @Res() res: Response, @Staff() session: StaffSession, @Body() body: Record<string, unknown>): Promise<void> {
    const email = typeof body.email === 'string' ? body.email : '';
    const role = typeof body.role === 'string' ? body.role : '';
    const password = generatePassword();
    try {
      const user = await this.staff.addUser(email, role, password, { mustChange: true, actor: actorOf(req) });
      res.type('html').send(usersPage(session, await this.staff.listUsers(), html`${user.email} can sign in as ${user.role} with the one-time password <code class="otp">${password}</code> (shown once).`, null));
    } catch (e) {
      if (!(e instanceof StaffError)) throw e;
      res.status(400).type('html').send(usersPage(session, await this.staff.listUsers(), null, e.message));
    }
  }

  @Post('users/:id/:action')
  @HttpCode(200)
  async setDisabled(@Req() req: Request, @Res() res: Response, @Staff() session: StaffSession, @Param('id') id: string, @Param('action') action: string): Promise<void> {
    if (!/^\d{1,18}$/.test(id) || (action !== 'disable' && action !== 'enable')) {
      res.status(404).type('html').send(usersPage(session, await this.staff.listUsers(), null, 'No such account or action.'));
      return;
    }
    try {
      const user = await this.staff.setDisabled(id, action === 'disable', actorOf(req));
      res.type('html').send(usersPage(session, await this.staff.listUsers(), html`${user.email} is ${action === 'disable' ? 'disabled; their sessions ended' : 'enabled'}.`, null));
    } catch (e) {
      if (!(e instanceof StaffError)) throw e;
      res.status(400).type('html').send(usersPage(session, await this.staff.listUsers(), null, e.message));
    }
  }

  @Get('audit')
  async auditTrail(@Req() req: Request, @Res() res: Response, @Staff() session: StaffSession, @Query() q: Record<string, unknown>): Promise<void> {
    const f = auditFilters(q);
    const r = await this.audit.list({ ...f, limit: AUDIT_PAGE, offset: (f.page - 1) * AUDIT_PAGE });
    await this.audit.record(actorOf(req), { action: 'audit.view', detail: { filters: { actor: f.actor, action: f.action, objectType: f.objectType, objectId: f.objectId, from: f.from, to: f.to }, page: f.page } });
    const pages = Math.max(1, Math.ceil(r.total / AUDIT_PAGE));
    const params = { actor: f.actor, action: f.action, objectType: f.objectType, objectId: f.objectId, from: f.from, to: f.to };
    const input = (name: keyof typeof params, label: string, type = 'text'): Html =>
      html`<div class="field"><label for="a-${name}">${label}</label><input id="a-${name}" name="${name}" type="${type}" value="${params[name] ?? ''}"></div>`;
    res.type('html').send(page({
      title: 'Audit trail',
      session,
      section: 'admin',
      body: html`<h1>Audit trail</h1>
        <form class="filters" method="get" action="/admin/audit" role="search" aria-label="Filter the audit trail">
          ${input('actor', 'Who (email)')}${input('action', 'Action')}${input('objectType', 'Object type')}${input('objectId', 'Object id')}${input('from', 'From', 'date')}${input('to', 'To', 'date')}
          <button type="submit">Filter</button>
          <a class="button secondary" href="/admin/audit.csv${query(params)}" download>Export CSV</a>
        </form>
        <table><caption>${r.total} event${r.total === 1 ? '' : 's'}${pages > 1 ? `, page ${f.page} of ${pages}` : ''}</caption>
          <thead><tr><th scope="col">When (UTC)</th><th scope="col">Who</th><th scope="col">Action</th><th scope="col">Object</th><th scope="col">From</th><th scope="col">Detail</th></tr></thead>
          <tbody>${r.items.map((e) => html`<tr><td>${e.at}</td><td>${e.actor}</td><td>${e.action}</td><td>${e.objectType ?? ''} ${e.objectId ?? ''}</td><td>${e.ip ?? ''}</td><td><code>${JSON.stringify(e.detail)}</code></td></tr>`)}</tbody>
        </table>
        ${pages > 1 ? html`<nav class="pager" aria-label="Pages">
          ${f.page > 1 ? html`<a href="/admin/audit${query({ ...params, page: f.page - 1 })}" rel="prev">Previous page</a>` : ''}
          <span>Page ${f.page} of ${pages}</span>
          ${f.page < pages ? html`<a href="/admin/audit${query({ ...params, page: f.page + 1 })}" rel="next">Next page</a>` : ''}</nav>` : ''}`,
    }));
  }

  /** The whole filtered trail as CSV, streamed a page at a time. */
  @Get('audit.csv')
  async auditCsv(@Req() req: Request, @Res() res: Response, @Query() q: Record<string, unknown>): Promise<void> {
    const f = auditFilters(q);
    await this.audit.record(actorOf(req), { action: 'audit.export', detail: { filters: { actor: f.actor, action: f.action, objectType: f.objectType, objectId: f.objectId, from: f.from, to: f.to } } });
    res.setHeader('Content-Type', 'text/csv; charset=utf-8');
    res.setHeader('Content-Disposition', 'attachment; filename="audit.csv"');
    res.write(csvRow(['id', 'at', 'user_id', 'actor', 'action', 'object_type', 'object_id', 'ip', 'detail']));
    for (let offset = 0; ; offset += 1000) {
      const r = await this.audit.list({ ...f, limit: 1000, offset });
      for (const e of r.items) res.write(csvRow([e.id, e.at, e.userId, e.actor, e.action, e.objectType, e.objectId, e.ip, e.detail]));
      if (r.items.length < 1000) break;
    }
    res.end();
  }
}

function auditFilters(q: Record<string, unknown>): Omit<AuditQuery, 'limit' | 'offset'> & { page: number } {
  const str = (v: unknown, max = 200): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim().slice(0, max) : undefined);
  const date = (v: unknown): string | undefined => str(v)?.match(/^\d{4}-\d{2}-\d{2}$/)?.[0];
  return { actor: str(q.actor), action: str(q.action), objectType: str(q.objectType), objectId: str(q.objectId), from: date(q.from), to: date(q.to), page: Math.max(1, Math.min(1_000_000, Number.parseInt(str(q.page) ?? '1', 10) || 1)) };
}
