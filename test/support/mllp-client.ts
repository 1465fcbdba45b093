import net from 'node:net';
import { MllpDecoder, encodeFrame } from '../../src/lib/mllp';

/** A minimal MLLP client over a real TCP socket: send frames, collect ACK frames. */
export class MllpClient {
  private readonly decoder = new MllpDecoder();
  private readonly acks: string[] = [];
  private waiters: { count: number; resolve: () => void; reject: (e: Error) => void }[] = [];

  /** Set when the connection failed or was reset (the peer died); waiting for ACKs then fails. */
  error: Error | undefined;

  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('error', (e) => {
      this.error = e;
    });
    socket.on('close', () => {
      const waiting = this.waiters;
      this.waiters = [];
      for (const w of waiting) w.reject(this.error ?? new Error('connection closed before the ACK'));
    });
    socket.on('data', (chunk: Buffer) => {
      for (const ev of this.decoder.push(chunk)) if (ev.type === 'frame') this.acks.push(ev.payload.toString('utf8'));
      this.waiters = this.waiters.filter((w) => {
        if (this.acks.length >= w.count) {
          w.resolve();
          return false;
        }
        return true;
      });
    });
  }

  static connect(port: number, host = '127.0.0.1'): Promise<MllpClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, host, () => {
        s.off('error', reject);
        resolve(new MllpClient(s));
      });
      s.once('error', reject);
    });
  }

  /** Raw bytes (already framed or deliberately broken). */
  write(bytes: Buffer | string): void {
    this.socket.write(bytes);
  }

  sendFrame(payload: Buffer | string): void {
    this.socket.write(encodeFrame(typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload));
  }

  /** Waits until `count` ACKs in total have arrived (or the timeout passes). */
  async waitForAcks(count: number, timeoutMs = 15_000): Promise<string[]> {
    if (this.acks.length < count) {
      if (this.error) throw this.error;
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => {
          reject(new Error(`timed out waiting for ${count} ACKs, have ${this.acks.length}`));
        }, timeoutMs);
        this.waiters.push({
          count,
          resolve: () => {
            clearTimeout(t);
            resolve();
          },
          reject: (e) => {
            clearTimeout(t);
            reject(e);
          },
        });
      });
    }
    return this.acks.slice(0, count);
  }

  async send(payload: Buffer | string, timeoutMs?: number): Promise<string> {
    const n = this.acks.length + 1;
    this.sendFrame(payload);
    const acks = await this.waitForAcks(n, timeoutMs);
    return acks[n - 1] as string;
  }

  get received(): readonly string[] {
    return this.acks;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.socket.end(() => {
        resolve();
      });
      this.socket.destroySoon();
    });
  }
}
