/**
 * Delivery adapters: how 837 files reach a clearinghouse and how its responses (999, 277CA, 835)
 * come back. Both adapters put a file under a temporary name and rename it when it is whole,
 * so the clearinghouse never picks up half a file; responses are moved to `processed/` (or
 * `refused/`) once imported, so a file is read once even if the import is repeated.
 */
import { appendFile, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { Readable } from 'node:stream';
import SftpClient from 'ssh2-sftp-client';

export interface DeliveryConfig {
  type: 'directory' | 'sftp';
  outbox: string;
  responses: string;
  host?: string;
  port?: number;
  username?: string;
  privateKeyFile?: string;
  /** Name of the environment variable that holds the SFTP password (never the password itself). */
  passwordEnv?: string;
}

export interface DeliveryAdapter {
  /** Stores a file in the outbox, whole or not at all. */
  put(fileName: string, parts: AsyncIterable<Buffer>): Promise<void>;
  /** Response files waiting (not yet processed), oldest name first. */
  responses(): Promise<string[]>;
  read(fileName: string): Promise<Buffer>;
  /**
   * A response as a local file to read from (an 835 can be 100 MB: it is streamed, never read
   * whole): the file itself in a folder, a temporary download over SFTP. `done` cleans up.
   */
  local(fileName: string): Promise<{ path: string; done: () => Promise<void> }>;
  /** Moves a response out of the way: to `processed/` or `refused/`. */
  done(fileName: string, outcome: 'processed' | 'refused'): Promise<void>;
  close(): Promise<void>;
}

/** Writes a file in a local folder under a temporary name and renames it when whole: a reader never sees half a file. */
export async function writeFileWhole(dir: string, fileName: string, parts: AsyncIterable<Buffer>): Promise<void> {
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${fileName}.part`);
  await writeFile(tmp, '');
  for await (const p of parts) await appendFile(tmp, p);
  await rename(tmp, join(dir, fileName));
}

class DirectoryAdapter implements DeliveryAdapter {
  constructor(private readonly c: DeliveryConfig) {}

  put(fileName: string, parts: AsyncIterable<Buffer>): Promise<void> {
    return writeFileWhole(this.c.outbox, fileName, parts);
  }

  async responses(): Promise<string[]> {
    await mkdir(this.c.responses, { recursive: true });
    const names = await readdir(this.c.responses);
    const files: string[] = [];
    for (const n of names.sort()) {
      if (n.startsWith('.')) continue;
      if ((await stat(join(this.c.responses, n))).isFile()) files.push(n);
    }
    return files;
  }

  read(fileName: string): Promise<Buffer> {
    return readFile(join(this.c.responses, fileName));
  }

  local(fileName: string): Promise<{ path: string; done: () => Promise<void> }> {
    return Promise.resolve({ path: join(this.c.responses, fileName), done: () => Promise.resolve() });
  }

  async done(fileName: string, outcome: 'processed' | 'refused'): Promise<void> {
    await mkdir(join(this.c.responses, outcome), { recursive: true });
    await rename(join(this.c.responses, fileName), join(this.c.responses, outcome, fileName));
  }

  async close(): Promise<void> {
    // nothing held open
  }
}

class SftpAdapter implements DeliveryAdapter {
  private client: SftpClient | undefined;

  constructor(private readonly c: DeliveryConfig) {}

  private async sftp(): Promise<SftpClient> {
    if (this.client) return this.client;
    const client = new SftpClient('hl7-claims');
    const password = this.c.passwordEnv !== undefined ? process.env[this.c.passwordEnv] : undefined;
    await client.connect({
      host: this.c.host, port: this.c.port ?? 22, username: this.c.username, readyTimeout: 15_000,
      privateKey: this.c.privateKeyFile !== undefined ? readFileSync(this.c.privateKeyFile) : undefined, password,
    });
    this.client = client;
    return client;
  }

  async put(fileName: string, parts: AsyncIterable<Buffer>): Promise<void> {
    const s = await this.sftp();
    const tmp = posix.join(this.c.outbox, `.${fileName}.part`);
    await s.put(Readable.from(parts), tmp);
    // posix-rename@openssh.com replaces an earlier copy (a replay); plain SFTP rename would refuse.
    await s.posixRename(tmp, posix.join(this.c.outbox, fileName));
  }

  async responses(): Promise<string[]> {
    const s = await this.sftp();
    const list = await s.list(this.c.responses);
    return list.filter((f) => f.type === '-' && !f.name.startsWith('.')).map((f) => f.name).sort();
  }

  async read(fileName: string): Promise<Buffer> {
    const s = await this.sftp();
    return (await s.get(posix.join(this.c.responses, fileName))) as Buffer;
  }

  async local(fileName: string): Promise<{ path: string; done: () => Promise<void> }> {
    const s = await this.sftp();
    const dir = await mkdtemp(join(tmpdir(), 'hl7c-response-'));
    const path = join(dir, 'response');
    await s.fastGet(posix.join(this.c.responses, fileName), path);
    return { path, done: () => rm(dir, { recursive: true, force: true }) };
  }

  async done(fileName: string, outcome: 'processed' | 'refused'): Promise<void> {
    const s = await this.sftp();
    const dir = posix.join(this.c.responses, outcome);
    if (!(await s.exists(dir))) await s.mkdir(dir, true);
    await s.posixRename(posix.join(this.c.responses, fileName), posix.join(dir, fileName));
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    await c?.end();
  }
}

export function deliveryAdapter(c: DeliveryConfig): DeliveryAdapter {
  return c.type === 'sftp' ? new SftpAdapter(c) : new DirectoryAdapter(c);
}
