import type { StaffSession } from '../modules/staff/staff.service';
import { html, raw, type Html, type Renderable } from './html';

/** Asset URLs carry the package version so that a new release is fetched, an old one cached. */
export const ASSET_VERSION = '1';

const HTMX_CONFIG = raw(JSON.stringify({ includeIndicatorStyles: false, allowEval: false, allowScriptTags: false, historyCacheSize: 0, selfRequestsOnly: true }).replace(/"/g, '&quot;'));

export type Section = 'queue' | 'dashboard' | 'admin' | 'account' | null;

/** The page around every screen: navigation, who is signed in, sign-out, the CSRF token for htmx. */
export function page(o: { title: string; session: StaffSession | null; section?: Section; body: Renderable }): string {
  const s = o.session;
  const nav = (href: string, label: string, section: Section): Html => html`<li><a href="${href}"${o.section === section ? raw(' aria-current="page"') : ''}>${label}</a></li>`;
  return `<!doctype html>${html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="htmx-config" content="${HTMX_CONFIG}">
${s !== null ? html`<meta name="csrf-token" content="${s.csrfToken}">` : ''}
<title>${o.title} · hl7-claims</title>
<link rel="icon" href="/assets/favicon.svg?v=${ASSET_VERSION}" type="image/svg+xml">
<link rel="stylesheet" href="/assets/app.css?v=${ASSET_VERSION}">
<script src="/assets/htmx.min.js?v=${ASSET_VERSION}" defer></script>
<script src="/assets/app.js?v=${ASSET_VERSION}" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <span class="brand">hl7-claims</span>
  ${s !== null && !s.mustChangePassword
    ? html`<nav aria-label="Main"><ul>${nav('/', 'Work queue', 'queue')}${nav('/dashboard', 'Dashboard', 'dashboard')}${s.role === 'admin' ? [nav('/admin/users', 'Users', 'admin'), nav('/admin/rules', 'Denial rules', 'admin'), nav('/admin/letters', 'Appeal letters', 'admin'), nav('/admin/audit', 'Audit trail', 'admin')] : ''}</ul></nav>`
    : ''}
  ${s !== null
    ? html`<div class="who"><span>${s.email} <span class="role">(${s.role})</span></span>
      <a href="/account/password">Password</a>
      <form method="post" action="/signout"><input type="hidden" name="_csrf" value="${s.csrfToken}"><button type="submit" class="link">Sign out</button></form></div>`
    : ''}
</header>
<main id="main" tabindex="-1">
${o.body}
</main>
</body>
</html>`.value}`;
}

export function messagePage(session: StaffSession | null, title: string, text: string): string {
  return page({ title, session, body: html`<h1>${title}</h1><p>${text}</p><p><a href="/">Back to the work queue</a></p>` });
}
