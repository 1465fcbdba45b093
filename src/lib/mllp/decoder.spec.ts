import { MllpDecoder, encodeFrame, type MllpEvent } from './decoder';

const msg = (id: string): string => `MSH|^~\\&|A|B|C|D|20240101||ADT^A01|${id}|P|2.5\rPID|1||${id}^^^H^MR\r`;

function frames(events: MllpEvent[]): string[] {
  return events.flatMap((e) => (e.type === 'frame' ? [e.payload.toString('utf8')] : []));
}

describe('MllpDecoder', () => {
  it('decodes every frame whatever byte the stream is split at', () => {
    const a = msg('1');
    const b = msg('22');
    const stream = Buffer.concat([Buffer.from('junk\r\n'), encodeFrame(a), encodeFrame(b), Buffer.from('xx'), encodeFrame(a)]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const dec = new MllpDecoder();
      const events = [...dec.push(stream.subarray(0, cut)), ...dec.push(stream.subarray(cut))];
      expect(frames(events)).toEqual([a, b, a]);
      const junk = events.reduce((n, e) => n + (e.type === 'junk' ? e.size : 0), 0);
      expect(junk).toBe(8);
      expect(dec.pending).toBe(0);
    }
  });

  it('decodes a stream fed one byte at a time', () => {
    const stream = Buffer.concat([encodeFrame(msg('1')), encodeFrame(msg('2'))]);
    const dec = new MllpDecoder();
    const out: MllpEvent[] = [];
    for (const byte of stream) out.push(...dec.push(Buffer.from([byte])));
    expect(frames(out)).toEqual([msg('1'), msg('2')]);
  });

  it('keeps a stray FS that is not followed by CR inside the payload', () => {
    const payload = 'MSH|^~\\&|A\x1cB|\r';
    expect(frames(new MllpDecoder().push(encodeFrame(payload)))).toEqual([payload]);
  });

  it('reports an oversize frame once, keeps its head, and recovers for the next frame', () => {
    const big = msg('BIG') + 'X'.repeat(5000);
    const stream = Buffer.concat([encodeFrame(big), encodeFrame(msg('after'))]);
    for (const cut of [1, 100, 3000, stream.length - 3, stream.length - 1]) {
      const dec = new MllpDecoder(1000);
      const events = [...dec.push(stream.subarray(0, cut)), ...dec.push(stream.subarray(cut))];
      const over = events.filter((e) => e.type === 'oversize');
      expect(over).toHaveLength(1);
      const o = over[0];
      if (o?.type !== 'oversize') throw new Error('unreachable');
      expect(o.size).toBe(Buffer.byteLength(big));
      expect(o.head.toString('utf8')).toContain('|BIG|');
      expect(frames(events)).toEqual([msg('after')]);
    }
  });

  it('holds an unfinished frame until its end arrives', () => {
    const dec = new MllpDecoder();
    const f = encodeFrame(msg('1'));
    expect(dec.push(f.subarray(0, f.length - 1))).toEqual([]);
    expect(dec.pending).toBeGreaterThan(0);
    expect(frames(dec.push(f.subarray(f.length - 1)))).toEqual([msg('1')]);
  });
});
