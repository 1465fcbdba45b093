import { readFileSync } from 'node:fs';
import net, { type Server, type Socket } from 'node:net';
import tls from 'node:tls';
import { Inject, Injectable } from '@nestjs/common';
import { MllpDecoder, encodeFrame } from '../../lib/mllp';
import { buildAck, encodeHl7Text, Hl7ErrorCode, type Hl7Charset } from '../../lib/hl7v2';
import { logger } from '../../common/logger';
import { metrics } from '../../common/metrics';
import { APP_CONFIG } from '../../config/config.module';
import { AppConfig } from '../../config/config';
import { IntakeService } from '../intake/intake.service';
import { isAllowed, parseAllowList } from './allow-list';

interface Connection {
  id: string;
  socket: Socket;
  /** Resolves when every ACK for frames received so far has been written. */
  tail: Promise<void>;
  inFlight: number;
}

export interface ListenerStatus {
  listening: boolean;
  host: string;
  port: number;
  connections: number;
  tls: boolean;
}

/**
 * MLLP listener: one incremental decoder per connection, every frame answered (in order) only
 * after the intake has committed it. Frames on one connection are processed concurrently but
 * acknowledged in the order they arrived.
 */
@Injectable()
export class MllpServer {
  private readonly log = logger('mllp');
  private server: Server | undefined;
  private readonly connections = new Set<Connection>();
  private nextId = 1;
  private port = 0;
  private readonly allow;
  private readonly charset: Hl7Charset;
  private closing = false;

  constructor(
    private readonly intake: IntakeService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.allow = parseAllowList(config.MLLP_ALLOW);
    this.charset = config.MLLP_CHARSET;
  }

  async start(port = this.config.MLLP_PORT, host = this.config.MLLP_HOST): Promise<number> {
    const onSocket = (socket: Socket): void => {
      this.accept(socket);
    };
    const useTls = this.config.MLLP_TLS_CERT !== undefined && this.config.MLLP_TLS_KEY !== undefined;
    const server = useTls
      ? tls.createServer({ cert: readFileSync(this.config.MLLP_TLS_CERT as string), key: readFileSync(this.config.MLLP_TLS_KEY as string) }, onSocket)
      : net.createServer(onSocket);
    server.maxConnections = this.config.MLLP_MAX_CONNECTIONS;
    server.on('drop', (d?: { remoteAddress?: string }) => {
      this.log.warn({ event: 'connection_refused_cap', remote: d?.remoteAddress, max: this.config.MLLP_MAX_CONNECTIONS });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address();
    this.port = typeof addr === 'object' && addr !== null ? addr.port : port;
    this.server = server;
    this.log.info({ event: 'mllp_listening', host, port: this.port, tls: useTls });
    return this.port;
  }

  status(): ListenerStatus {
    return {
      listening: this.server?.listening === true && !this.closing,
      host: this.config.MLLP_HOST,
      port: this.port,
      connections: this.connections.size,
      tls: this.config.MLLP_TLS_CERT !== undefined,
    };
  }

  private accept(socket: Socket): void {
    if (this.closing || !isAllowed(this.allow, socket.remoteAddress)) {
      this.log.warn({ event: 'connection_refused', remote: socket.remoteAddress, reason: this.closing ? 'shutting down' : 'not in MLLP_ALLOW' });
      socket.destroy();
      return;
    }
    const conn: Connection = { id: `mllp#${this.nextId++}`, socket, tail: Promise.resolve(), inFlight: 0 };
    const connectionId = `${conn.id} ${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    this.connections.add(conn);
    metrics.connections.inc();
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 60_000);
    if (this.config.MLLP_IDLE_TIMEOUT_MS > 0) socket.setTimeout(this.config.MLLP_IDLE_TIMEOUT_MS);
    const decoder = new MllpDecoder(this.config.MLLP_MAX_FRAME_BYTES);
    const ctx = { source: 'mllp' as const, connectionId, charset: this.charset };
    this.log.info({ event: 'connection_open', connection: conn.id, remote: socket.remoteAddress });

    const reply = (work: Promise<{ ack: string }>): void => {
      conn.inFlight++;
      const received = process.hrtime.bigint();
      conn.tail = conn.tail.then(async () => {
        try {
          const r = await work;
          if (!socket.destroyed) socket.write(encodeFrame(encodeHl7Text(r.ack, this.charset)));
          metrics.ackLatency.observe(Number(process.hrtime.bigint() - received) / 1e9);
        } catch (e) {
          // Never silence: an unexpected failure still gets a negative ACK (nothing was acknowledged as stored).
          this.log.error({ event: 'frame_failed', connection: conn.id, err: e instanceof Error ? e.name : 'unknown' });
          const ack = buildAck(undefined, { code: 'AR', errors: [{ code: Hl7ErrorCode.ApplicationInternalError, message: 'internal error; the message was not stored, send it again' }] });
          if (!socket.destroyed) socket.write(encodeFrame(encodeHl7Text(ack, this.charset)));
        } finally {
          conn.inFlight--;
        }
      });
    };

    socket.on('data', (chunk: Buffer) => {
      for (const ev of decoder.push(chunk)) {
        switch (ev.type) {
          case 'frame':
            reply(this.intake.receiveFrame(ev.payload, ctx));
            break;
          case 'oversize':
            this.log.warn({ event: 'frame_oversize', connection: conn.id, bytes: ev.size, limit: this.config.MLLP_MAX_FRAME_BYTES });
            reply(this.intake.receiveOversize(ev.head, ev.size, this.config.MLLP_MAX_FRAME_BYTES, ctx));
            break;
          case 'junk':
            this.log.warn({ event: 'bytes_outside_frame', connection: conn.id, bytes: ev.size });
            break;
        }
      }
    });
    socket.on('timeout', () => {
      if (conn.inFlight === 0) {
        this.log.info({ event: 'connection_idle_closed', connection: conn.id });
        socket.end();
      }
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      this.log.warn({ event: 'connection_error', connection: conn.id, code: e.code });
    });
    socket.on('close', () => {
      this.connections.delete(conn);
      metrics.connections.dec();
      this.log.info({ event: 'connection_closed', connection: conn.id, pendingBytes: decoder.pending });
    });
  }

  /**
   * Graceful stop: refuse new connections, finish and acknowledge every frame already received,
   * then close the connections (forcibly after `graceMs`).
   */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.server) return;
    this.closing = true;
    const server = this.server;
    const closed = new Promise<void>((r) => {
      server.close(() => {
        r();
      });
    });
    const pending = Promise.all([...this.connections].map((c) => c.tail));
    await Promise.race([pending, new Promise((r) => setTimeout(r, graceMs).unref())]);
    for (const c of this.connections) c.socket.end();
    await Promise.race([closed, new Promise((r) => setTimeout(r, 2000).unref())]);
    for (const c of this.connections) c.socket.destroy();
    this.server = undefined;
    this.log.info({ event: 'mllp_stopped' });
  }
}
