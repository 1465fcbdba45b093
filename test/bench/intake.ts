import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import type { LoadResult } from './load';
import type { PeerServer } from './peer-mllp';

/* eslint-disable @typescript-eslint/no-require-imports */
const { loadConfig } = require('../../dist/config/config') as typeof import('../../src/config/config');
const { startService } = require('../../dist/service') as typeof import('../../src/service');
const { setRootLogger } = require('../../dist/common/logger') as typeof import('../../src/common/logger');
/* eslint-enable @typescript-eslint/no-require-imports */
import pino from 'pino';

/** What one load run measured: throughput and ACK latency, from the load generator's side. */
export interface LoadFigures {
  connections: number;
  messagesPerSecond: number;
  p50: number;
  p99: number;
  acked: number;
  notAcked: number;
}

function figuresOf(connections: number, r: LoadResult): LoadFigures {
  const lat = r.latenciesMs.sort((a, b) => a - b);
  return {
    connections,
    messagesPerSecond: Math.round(r.acked.length / (r.elapsedMs / 1000)),
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
    acked: r.acked.length,
    notAcked: r.notAcked,
  };
}

/** CPU time per AA'd message of a run, in microseconds. */
const perAcked = (r: LoadResult, us: number): number => Math.round(us / Math.max(1, r.acked.length));

export interface IntakeResult extends LoadFigures {
  /** AA'd messages found processed in the database with all 5 charges. */
  verified: number;
  /**
   * CPU time per AA'd message, in microseconds: the service's process, the load generator's, and
   * PostgreSQL's backends for the bench database (only when the server runs on this machine).
   */
  cpuUs: { service: number; postgres: number | undefined; load: number };
  /** The share of the machine's cores those three kept busy during the run, in percent (when PostgreSQL's was read). */
  busyPercent: number | undefined;
}

/**
 * On-CPU time of PostgreSQL backends by pid, in microseconds (/proc/PID/schedstat); a pid that is
 * not a postgres process here (gone, or the server runs in a container with pids of its own) is left out.
 */
function cpuOf(pids: number[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of pids) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'postgres') continue;
      out.set(pid, Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1000);
    } catch {
      // gone, or not readable
    }
  }
  return out;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

function load(port: number, connections: number, seconds: number, prefix: string, visits = 0): Promise<LoadResult> {
  const child = fork(join(__dirname, 'load.ts'), [], { execArgv: ['-r', join(__dirname, '..', 'support', 'ts-register.js')] });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => {
      resolve(m as LoadResult);
    });
    child.once('error', reject);
    // A load generator that fails (its message builder check, a refused connection) exits without
    // answering: the run fails instead of waiting for it.
    child.once('exit', (code) => {
      reject(new Error(`the load generator exited (code ${String(code)}) without a result`));
    });
    child.send({ port, connections, seconds, prefix, visits });
  });
}

/** End-to-end intake: MLLP over loopback into the real service on a real PostgreSQL, then verified. */
export async function benchIntake(serverUrl: string, connectionCounts: number[], seconds: number, visits = 0): Promise<IntakeResult[]> {
  setRootLogger(pino({ level: 'silent' }));
  const name = `hl7c_bench_${Date.now().toString(36)}`;
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  const config = loadConfig({
    DATABASE_URL: u.toString(), MLLP_PORT: '0', HTTP_PORT: '0', API_TOKEN: 'bench-token-0123456789abcdef',
    DATA_DIR: mkdtempSync(join(tmpdir(), 'hl7c-bench-')), DB_POOL_SIZE: '16', LOG_LEVEL: 'silent',
    // The intake tuning variables may be set for a run (defaults otherwise).
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('INTAKE_'))),
  });
  const svc = await startService(config);
  const results: IntakeResult[] = [];
  // PostgreSQL's CPU is read from /proc, so only for a server on this machine.
  const local = ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
  const backends = async (): Promise<Map<number, number>> => {
    if (!local) return new Map();
    const r = await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [name]);
    return cpuOf(r.rows.map((x) => x.pid));
  };
  try {
    await load(svc.mllpPort, 8, Math.min(2, seconds), 'WARM'); // JIT, pool and caches
    for (const c of connectionCounts) {
      const pgBefore = await backends();
      const svcBefore = process.cpuUsage();
      const r = await load(svc.mllpPort, c, seconds, `C${c}V${visits}-`, visits);
      const svcUsed = process.cpuUsage(svcBefore);
      const pgAfter = await backends();
      const check = await svc.db.dataSource.query<{ ok: string }[]>(
        `SELECT count(*)::text AS ok FROM inbound_message m
          WHERE m.control_id = ANY($1::text[]) AND m.status = 'processed'
            AND (SELECT count(*) FROM charge ch WHERE ch.message_id = m.id) = 5`,
        [r.acked],
      );
      let pgUs = 0;
      for (const [pid, us] of pgAfter) pgUs += us - (pgBefore.get(pid) ?? 0);
      // No backend readable (a remote server, or one in a container): no PostgreSQL figure, not 0.
      const pgRead = pgAfter.size > 0;
      const serviceUs = svcUsed.user + svcUsed.system;
      results.push({
        ...figuresOf(c, r),
        cpuUs: { service: perAcked(r, serviceUs), postgres: pgRead ? perAcked(r, pgUs) : undefined, load: perAcked(r, r.cpuUs) },
        busyPercent: pgRead ? Math.round(((serviceUs + pgUs + r.cpuUs) / (r.elapsedMs * 1000 * availableParallelism())) * 100) : undefined,
        verified: Number(check[0]?.ok ?? 0),
      });
    }
  } finally {
    await svc.stop();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
  return results;
}

export interface PeerServerResult extends LoadFigures {
  peer: PeerServer;
  /** CPU time per AA'd message, in microseconds: the peer's server process and the load generator. */
  cpuUs: { server: number; load: number };
}

/**
 * A peer's MLLP server (ACK only, nothing stored) under the same load generator as the intake
 * runs, in its own process: what this machine answers at the moment without durability, the
 * reference the intake figures are read against (the machine's speed drifts between runs).
 */
export async function benchPeerServer(peer: PeerServer, connections: number, seconds: number): Promise<PeerServerResult> {
  const child = fork(join(__dirname, 'peer-mllp.ts'), [], { execArgv: ['-r', join(__dirname, '..', 'support', 'ts-register.js')] });
  // The child's exit or failure before it answers fails the run (instead of leaving it waiting).
  let gone: Error | undefined;
  const failures = new Set<(e: Error) => void>();
  const fail = (e: Error): void => {
    gone ??= e;
    for (const f of failures) f(e);
  };
  child.on('error', fail);
  child.on('exit', (code) => {
    fail(new Error(`the ${peer} server process exited (code ${String(code)})`));
  });
  const ask = <T>(m: object): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (gone) {
        reject(gone);
        return;
      }
      failures.add(reject);
      child.once('message', (r) => {
        failures.delete(reject);
        resolve(r as T);
      });
      child.send(m);
    });
  try {
    const { port } = await ask<{ port: number }>({ peer });
    await load(port, 8, Math.min(2, seconds), 'WARM');
    const before = await ask<{ cpuUs: number }>({ cmd: 'cpu' });
    const r = await load(port, connections, seconds, `P${connections}-`);
    const after = await ask<{ cpuUs: number }>({ cmd: 'cpu' });
    return { peer, ...figuresOf(connections, r), cpuUs: { server: perAcked(r, after.cpuUs - before.cpuUs), load: perAcked(r, r.cpuUs) } };
  } finally {
    if (child.connected) child.send({ cmd: 'stop' });
  }
}
