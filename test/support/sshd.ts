/**
 * A real OpenSSH server on 127.0.0.1 for the SFTP delivery tests: its own host key, one
 * authorized client key, internal-sftp, started on a free port in a temporary folder and stopped
 * after. `.ci/run` installs openssh-server when missing; on a machine without it the tests that
 * need it are skipped (unless HL7C_REQUIRE_SFTP=1, as in CI, where they fail instead).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { userInfo, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './net';

export const SSHD = ['/usr/sbin/sshd', '/usr/local/sbin/sshd'].find((p) => existsSync(p));
export const SFTP_AVAILABLE = SSHD !== undefined && spawnSync('ssh-keygen', ['-?']).error === undefined;
if (!SFTP_AVAILABLE && process.env.HL7C_REQUIRE_SFTP === '1') throw new Error('HL7C_REQUIRE_SFTP=1 but sshd or ssh-keygen is missing (install openssh-server)');

export interface Sshd {
  port: number;
  username: string;
  privateKeyFile: string;
  dir: string;
  stop(): Promise<void>;
}

export async function startSshd(): Promise<Sshd> {
  if (SSHD === undefined) throw new Error('sshd is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'hl7c-sshd-'));
  const keygen = (file: string): void => {
    const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file]);
    if (r.status !== 0) throw new Error(`ssh-keygen failed: ${r.stderr.toString()}`);
  };
  keygen(join(dir, 'host_key'));
  keygen(join(dir, 'client_key'));
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'client_key.pub')));
  // Privilege separation needs this folder when sshd runs as root.
  if (userInfo().uid === 0) mkdirSync('/run/sshd', { recursive: true });
  const port = await freePort();
  const username = userInfo().username;
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      `Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${join(dir, 'host_key')}`, `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'PubkeyAuthentication yes', 'StrictModes no', 'UsePAM no', `PidFile ${join(dir, 'sshd.pid')}`,
      'Subsystem sftp internal-sftp', `AllowUsers ${username}`, 'PermitRootLogin prohibit-password', 'LogLevel ERROR',
    ].join('\n') + '\n',
  );
  const proc: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  // Ready when the port accepts connections.
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`sshd exited: ${stderr}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => {
        resolve(false);
      });
    });
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`sshd did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port, username, privateKeyFile: join(dir, 'client_key'), dir,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) {
          resolve();
          return;
        }
        proc.once('exit', () => {
          resolve();
        });
        proc.kill('SIGTERM');
      }),
  };
}
