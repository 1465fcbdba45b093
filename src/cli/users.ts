import { generatePassword, passwordProblem } from '../lib/password';
import { EXIT, type Command } from './context';
import { ApiTokensService } from '../modules/staff/api-tokens.service';
import { ROLES, StaffError, StaffService } from '../modules/staff/staff.service';
import type { Actor } from '../modules/staff/audit.service';

const CLI: Actor = { userId: null, name: 'cli', ip: null };

/** The first line of stdin (a pipe or a file), without its line ending. */
async function firstLine(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) {
    text += (chunk as Buffer).toString('utf8');
    if (text.includes('\n')) break;
  }
  return text.split(/\r?\n/)[0] ?? '';
}

/** Asks on the terminal without echoing what is typed. */
function ask(prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(prompt);
    let typed = '';
    stdin.setRawMode(true);
    stdin.resume();
    const onData = (b: Buffer): void => {
      for (const ch of b.toString('utf8')) {
        if (ch === '\r' || ch === '\n') {
          done();
          resolve(typed);
          return;
        }
        if (ch === '\u0003') {
          done();
          reject(new Error('cancelled'));
          return;
        }
        if (ch === '\u007f' || ch === '\b') typed = Array.from(typed).slice(0, -1).join('');
        else typed += ch;
      }
    };
    const done = (): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    stdin.on('data', onData);
  });
}

/**
 * `hl7-claims users add|list|disable|enable|password|token|tokens|revoke-token`. A password comes from stdin's first line
 * when stdin is not a terminal, is asked twice on a terminal, or is generated (`--generate`) and
 * printed once, to be changed at first sign-in. Passwords are never taken as arguments (they would
 * stay in the shell's history and the process list). A personal API token (`token EMAIL --name
 * WHAT [--expires-days N]`) is printed once and acts with that person's role.
 */
export const users: Command = async (ctx, sub, rest) => {
  const out = ctx.out;
  const withApp = ctx.withApp;
  const flag = (name: string): string | undefined => {
    const at = rest.indexOf(name);
    return at >= 0 ? rest[at + 1] : undefined;
  };
  const positional = rest.filter((a, i) => !a.startsWith('--') && !(i > 0 && ['--role', '--name', '--expires-days'].includes(rest[i - 1] as string)));
  const password = async (): Promise<{ password: string; generated: boolean }> => {
    if (rest.includes('--generate')) return { password: generatePassword(), generated: true };
    if (!process.stdin.isTTY) return { password: await firstLine(), generated: false };
    const first = await ask('Password (at least 12 characters): ');
    const problem = passwordProblem(first);
    if (problem !== null) throw new StaffError('bad_password', problem);
    if ((await ask('Password again: ')) !== first) throw new StaffError('bad_password', 'the two passwords differ');
    return { password: first, generated: false };
  };
  try {
    switch (sub) {
      case 'add': {
        const email = positional[0];
        const role = flag('--role');
        if (email === undefined || role === undefined) {
          return ctx.usage(`users add needs EMAIL --role ${ROLES.join('|')} [--generate]`);
        }
        const p = await password();
        const user = await withApp((app) => app.get(StaffService).addUser(email, role, p.password, { mustChange: p.generated, actor: CLI }));
        out({ ...user, ...(p.generated ? { oneTimePassword: p.password } : {}) },
          `${user.email} added as ${user.role}${p.generated ? `\none-time password (shown once; to be changed at first sign-in): ${p.password}` : ''}`);
        return EXIT.done;
      }
      case 'password': {
        const email = positional[0];
        if (email === undefined) {
          return ctx.usage('users password needs EMAIL [--generate]');
        }
        const p = await password();
        const user = await withApp(async (app) => {
          const staff = app.get(StaffService);
          const u = await staff.findUser(email);
          if (u === null) throw new StaffError('not_found', `no account ${email}`);
          await staff.setPassword(u.id, p.password, { mustChange: p.generated, actor: CLI });
          return u;
        });
        out({ id: user.id, email: user.email, ...(p.generated ? { oneTimePassword: p.password } : {}) },
          `${user.email}: password set, other sessions signed out${p.generated ? `\none-time password (shown once; to be changed at first sign-in): ${p.password}` : ''}`);
        return EXIT.done;
      }
      case 'list': {
        const users = await withApp((app) => app.get(StaffService).listUsers());
        out(users, users.length === 0 ? 'no staff accounts (add one: hl7-claims users add EMAIL --role admin)' : users
          .map((u) => `${u.id}: ${u.email} ${u.role}${u.disabled ? ' DISABLED' : ''}${u.lockedUntil !== null ? ` locked until ${u.lockedUntil}` : ''}${u.mustChangePassword ? ' (one-time password)' : ''}, last sign-in ${u.lastSignInAt ?? 'never'}`).join('\n'));
        return EXIT.done;
      }
      case 'disable':
      case 'enable': {
        const email = positional[0];
        if (email === undefined) {
          return ctx.usage(`users ${sub} needs EMAIL`);
        }
        const user = await withApp((app) => app.get(StaffService).setDisabled(email, sub === 'disable', CLI));
        out(user, `${user.email} ${sub === 'disable' ? 'disabled (its sessions ended)' : 'enabled'}`);
        return EXIT.done;
      }
      case 'token': {
        const email = positional[0];
        const name = flag('--name');
        const days = flag('--expires-days');
        if (email === undefined || name === undefined || (days !== undefined && !/^\d+$/.test(days))) {
          return ctx.usage('users token needs EMAIL --name WHAT-USES-IT [--expires-days N]');
        }
        const t = await withApp((app) => app.get(ApiTokensService).create(email, { name, expiresDays: days === undefined ? null : Number(days), actor: CLI }));
        out(t, `token ${t.id} for ${t.email} (${t.role}), "${t.name}"${t.expiresAt !== null ? `, expires ${t.expiresAt}` : ''} (shown once; send it as Authorization: Bearer <token>):\n${t.token}`);
        return EXIT.done;
      }
      case 'tokens': {
        const tokens = await withApp((app) => app.get(ApiTokensService).list(positional[0]));
        out(tokens, tokens.length === 0 ? 'no API tokens' : tokens
          .map((t) => `${t.id}: ${t.email} (${t.role}) "${t.name}"${t.revoked ? ' REVOKED' : ''}${t.expiresAt !== null ? ` expires ${t.expiresAt}` : ''}, made ${t.createdAt} by ${t.createdBy}, last used ${t.lastUsedAt ?? 'never'}`).join('\n'));
        return EXIT.done;
      }
      case 'revoke-token': {
        const id = positional[0];
        if (id === undefined) {
          return ctx.usage('users revoke-token needs the token\'s ID (see users tokens)');
        }
        const t = await withApp((app) => app.get(ApiTokensService).revoke(id, CLI));
        out(t, `token ${t.id} of ${t.email} revoked`);
        return EXIT.done;
      }
      case undefined:
      default:
        return ctx.usage(`users needs add, list, password, disable, enable, token, tokens or revoke-token`);
    }
  } catch (e) {
    if (!(e instanceof StaffError)) throw e;
    process.stderr.write(`${e.message}\n`);
    return EXIT.failed;
  }
};
