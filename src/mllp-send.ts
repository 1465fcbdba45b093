import { readFileSync } from 'node:fs';
import net from 'node:net';
import { parseMessage, splitBatch, isBatch } from './lib/hl7v2';
import { MllpDecoder, encodeFrame } from './lib/mllp';

export interface SentAck {
  file: string;
  code: string;
  controlId: string;
  error?: string;
}

/**
 * A small MLLP client for trying the listener: each file is sent as one frame per message
 * (a batch file as one frame), LF/CRLF turned into CR, waiting for each ACK before the next.
 */
export async function sendFiles(files: string[], host: string, port: number): Promise<SentAck[]> {
  const socket = net.connect(port, host);
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const decoder = new MllpDecoder();
  const pending: ((ack: string) => void)[] = [];
  socket.on('data', (chunk: Buffer) => {
    for (const ev of decoder.push(chunk)) if (ev.type === 'frame') pending.shift()?.(ev.payload.toString('utf8'));
  });
  const out: SentAck[] = [];
  try {
    for (const file of files) {
      const text = readFileSync(file, 'utf8').replace(/\r\n|\n/g, '\r');
      const frames = isBatch(text) ? [text] : splitBatch(text).messages;
      for (const frame of frames.length > 0 ? frames : [text]) {
        const ack = await new Promise<string>((resolve, reject) => {
          const timer = setTimeout(() => {
            reject(new Error(`no ACK from ${host}:${port} within 30 s`));
          }, 30_000);
          pending.push((a) => {
            clearTimeout(timer);
            resolve(a);
          });
          socket.write(encodeFrame(Buffer.from(frame, 'utf8')));
        });
        const m = parseMessage(ack);
        const error = m.get('ERR-8') || undefined;
        out.push({ file, code: m.get('MSA-1'), controlId: m.get('MSA-2'), error });
      }
    }
  } finally {
    socket.end();
  }
  return out;
}
