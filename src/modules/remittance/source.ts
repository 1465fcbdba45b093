/**
 * Where an 835 file's bytes come from: a file on disk, a buffer, or a request spooled to a
 * temporary file. An import reads its source more than once (its SHA-256 first, then to post it,
 * and again to keep the bytes of a refused file), never holding a large file in memory.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface RemitSource {
  /** The file's name as received (kept with it), if any. */
  name: string | null;
  open(): AsyncIterable<Buffer>;
}

const CHUNK = 256 * 1024;

export function fileSource(path: string, name: string | null = basename(path)): RemitSource {
  return { name, open: () => createReadStream(path, { highWaterMark: CHUNK }) };
}

export function bufferSource(bytes: Buffer, name: string | null = null): RemitSource {
  return {
    name,
    open: () => Readable.from(chunksOf(bytes)),
  };
}

function* chunksOf(bytes: Buffer): Generator<Buffer> {
  for (let i = 0; i < bytes.length; i += CHUNK) yield bytes.subarray(i, Math.min(bytes.length, i + CHUNK));
}

/** SHA-256 and size of a source, read once. */
export async function digest(source: RemitSource): Promise<{ sha: Buffer; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of source.open()) {
    h.update(chunk);
    size += chunk.length;
  }
  return { sha: h.digest(), size };
}

/** Copies a stream (an HTTP body, an SFTP download) into a temporary file; `done` removes it. */
export async function spool(input: Readable, name: string | null): Promise<{ source: RemitSource; size: number; done: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'hl7c-835-'));
  const path = join(dir, 'file.835');
  await pipeline(input, createWriteStream(path));
  return { source: fileSource(path, name), size: (await stat(path)).size, done: () => rm(dir, { recursive: true, force: true }) };
}
