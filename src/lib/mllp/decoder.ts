/** MLLP framing bytes (HL7 v2 MLLP release 2): <VT> payload <FS><CR>. */
export const VT = 0x0b;
export const FS = 0x1c;
export const CR = 0x0d;

export type MllpEvent =
  | { type: 'frame'; payload: Buffer }
  /** A frame over the size limit: dropped, with its first bytes kept so an ACK can name its MSH-10. */
  | { type: 'oversize'; size: number; head: Buffer }
  /** Bytes outside any frame, skipped. */
  | { type: 'junk'; size: number };

const HEAD_BYTES = 4096;

/**
 * Incremental frame decoder for one connection. Like pg-protocol's parser it keeps one buffer
 * with an offset and a length, appends chunks, and compacts only when the free tail is too small:
 * frames split at any byte, several frames in one chunk and junk between frames all work.
 */
export class MllpDecoder {
  private buf: Buffer = Buffer.alloc(0);
  private start = 0; // first unconsumed byte
  private end = 0; // end of valid data
  private scan = 0; // where the search for the frame end resumes
  private inFrame = false;
  private discarding = false; // inside an oversize frame
  private discarded = 0;
  private head: Buffer | undefined;
  private junk = 0;

  constructor(private readonly maxFrameBytes = 1024 * 1024) {}

  push(chunk: Buffer): MllpEvent[] {
    this.append(chunk);
    const events: MllpEvent[] = [];
    for (;;) {
      if (!this.inFrame) {
        const vt = this.buf.indexOf(VT, this.start);
        const limit = vt < 0 || vt >= this.end ? this.end : vt;
        this.junk += limit - this.start;
        this.start = limit;
        if (limit === this.end) break;
        if (this.junk > 0) {
          events.push({ type: 'junk', size: this.junk });
          this.junk = 0;
        }
        this.start++; // skip VT
        this.scan = this.start;
        this.inFrame = true;
      }
      const fs = this.findEnd();
      if (fs < 0) {
        if (!this.discarding && this.end - this.start > this.maxFrameBytes) {
          this.discarding = true;
          this.head = Buffer.from(this.buf.subarray(this.start, this.start + HEAD_BYTES));
          this.discarded = 0;
        }
        if (this.discarding) {
          // Keep only the last byte (it may be the FS of a split FS CR).
          const keep = this.end - 1;
          this.discarded += keep - this.start;
          this.start = keep;
          this.scan = keep;
        }
        break;
      }
      if (!this.discarding && fs - this.start > this.maxFrameBytes) {
        events.push({ type: 'oversize', size: fs - this.start, head: Buffer.from(this.buf.subarray(this.start, this.start + HEAD_BYTES)) });
      } else if (this.discarding) {
        this.discarded += fs - this.start;
        events.push({ type: 'oversize', size: this.discarded, head: this.head ?? Buffer.alloc(0) });
        this.discarding = false;
        this.head = undefined;
      } else {
        events.push({ type: 'frame', payload: Buffer.from(this.buf.subarray(this.start, fs)) });
      }
      this.start = fs + 2;
      this.inFrame = false;
    }
    if (this.junk > 0 && !this.inFrame) {
      events.push({ type: 'junk', size: this.junk });
      this.junk = 0;
    }
    return events;
  }

  /** Position of an FS that is followed by CR, or -1 when the frame end has not arrived yet. */
  private findEnd(): number {
    let from = this.scan;
    for (;;) {
      const fs = this.buf.indexOf(FS, from);
      if (fs < 0 || fs >= this.end) {
        this.scan = this.end;
        return -1;
      }
      if (fs + 1 >= this.end) {
        this.scan = fs;
        return -1;
      }
      if (this.buf[fs + 1] === CR) return fs;
      from = fs + 1; // a stray FS inside the payload: keep looking
    }
  }

  private append(chunk: Buffer): void {
    const needed = this.end - this.start + chunk.length;
    if (this.buf.length - this.end < chunk.length) {
      if (this.buf.length >= needed) {
        this.buf.copy(this.buf, 0, this.start, this.end);
      } else {
        const next = Buffer.allocUnsafe(Math.max(needed * 2, 16 * 1024));
        this.buf.copy(next, 0, this.start, this.end);
        this.buf = next;
      }
      this.scan -= this.start;
      this.end -= this.start;
      this.start = 0;
    }
    chunk.copy(this.buf, this.end);
    this.end += chunk.length;
  }

  /** Bytes held for an unfinished frame. */
  get pending(): number {
    return this.end - this.start;
  }
}

/** Wraps a payload in an MLLP frame. */
export function encodeFrame(payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const out = Buffer.allocUnsafe(body.length + 3);
  out[0] = VT;
  body.copy(out, 1);
  out[body.length + 1] = FS;
  out[body.length + 2] = CR;
  return out;
}
