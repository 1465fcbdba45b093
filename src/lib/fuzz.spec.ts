/**
 * Hostile and broken input (property-based, fast-check): any input to the HL7 parser, escapes,
 * dates, batch splitter, MLLP decoder, X12 reader and the 999/277CA/835 readers either parses or
 * raises the module's typed error (with a location where the module gives one); no other
 * exception, and each input done in bounded time. Inputs are arbitrary text and the published
 * samples in fixtures/ mutated: characters flipped, cut short, delimiters swapped, pieces
 * inserted or repeated.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { Hl7Error, parseHl7DateTime, parseMessage, splitBatch, STANDARD_DELIMITERS, unescapeHl7 } from './hl7v2';
import { MllpDecoder } from './mllp';
import { read277ca, read835, read999, readX12, X12ReadError } from './x12';

const FIXTURES = join(__dirname, '..', '..', 'fixtures');
const files = (dir: string): string[] => readdirSync(join(FIXTURES, dir), { withFileTypes: true }).filter((f) => f.isFile() && !f.name.endsWith('.md')).map((f) => readFileSync(join(FIXTURES, dir, f.name), 'latin1'));
const HL7 = [...files('hl7/dft'), ...files('hl7/adt'), ...files('hl7/batch')];
const X835 = files('x12/835');
const ACKS = files('x12/ack');
/** Each input must be done well within this (a hang or a pathological backtrack fails the property). */
const BOUND_MS = 2000;
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);

/** A sample with one of the damage a feed or a file meets on the way. */
function mutated(samples: string[]): fc.Arbitrary<string> {
  return fc.tuple(fc.constantFrom(...samples), fc.nat(), fc.nat(), fc.string({ maxLength: 40 }), fc.integer({ min: 0, max: 6 }), fc.string({ minLength: 1, maxLength: 1 })).map(([s, a, b, piece, how, ch]) => {
    const i = s.length === 0 ? 0 : a % s.length;
    const j = s.length === 0 ? 0 : b % s.length;
    switch (how) {
      case 0: return s.slice(0, i) + ch + s.slice(i + 1); // a character flipped
      case 1: return s.slice(0, i); // cut short
      case 2: return s.split('|').join(ch).split('*').join(ch); // delimiters swapped
      case 3: return s.slice(0, i) + piece + s.slice(i); // a piece inserted
      case 4: return s.slice(0, Math.min(i, j)) + s.slice(Math.max(i, j)); // a stretch lost
      case 5: return s + s.slice(Math.min(i, j), Math.max(i, j)); // a stretch repeated at the end
      default: return s.replace(/\r|~/g, () => piece.slice(0, 1)); // separators damaged
    }
  });
}

/** Runs fn; a thrown error must be `typed`; and it must be done in time. */
async function mustBeTyped(fn: () => unknown, typed: (e: unknown) => boolean): Promise<void> {
  const started = Date.now();
  try {
    await fn();
  } catch (e) {
    if (!typed(e)) throw e;
  }
  const ms = Date.now() - started;
  if (ms > BOUND_MS) throw new Error(`took ${ms} ms`);
}
const isHl7 = (e: unknown): boolean => e instanceof Hl7Error;
const isX12 = (e: unknown): boolean => e instanceof X12ReadError && e.message.length > 0;

describe('hostile input: typed errors only, in bounded time', () => {
  it('HL7 parser: arbitrary text and damaged samples parse or raise Hl7Error', async () => {
    await fc.assert(fc.asyncProperty(fc.oneof(fc.string({ maxLength: 300 }), fc.string({ maxLength: 50 }).map((s) => `MSH|^~\\&|${s}`), mutated(HL7)), async (text) => {
      await mustBeTyped(() => {
        const m = parseMessage(text);
        // What a caller reads from a message must not throw anything else either.
        for (const path of ['MSH-9.1', 'MSH-10', 'PID-3', 'PID-5.1', 'FT1-11', 'DG1[2]-3']) m.get(path);
      }, isHl7);
    }), { numRuns: RUNS });
  });

  it('escapes, dates and the batch splitter never throw anything but Hl7Error', async () => {
    await fc.assert(fc.asyncProperty(fc.string({ maxLength: 200 }), mutated(HL7), async (s, sample) => {
      await mustBeTyped(() => unescapeHl7(s, STANDARD_DELIMITERS), isHl7);
      await mustBeTyped(() => parseHl7DateTime(s), isHl7);
      await mustBeTyped(() => splitBatch(sample), isHl7);
      await mustBeTyped(() => splitBatch(`BHS|^~\\&|${s}\r${sample}`), isHl7);
    }), { numRuns: RUNS });
  });

  it('MLLP decoder: any byte stream in any chunks; frames never exceed the limit and what it holds stays bounded', async () => {
    const LIMIT = 4096;
    await fc.assert(fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 700 }), { maxLength: 30 }), fc.array(fc.constantFrom(0x0b, 0x1c, 0x0d), { maxLength: 30 }), async (chunks, controls) => {
      await mustBeTyped(() => {
        const d = new MllpDecoder(LIMIT);
        chunks.forEach((c, i) => {
          const bytes = Buffer.from(c);
          if (bytes.length > 0 && controls[i] !== undefined) bytes[i % bytes.length] = controls[i];
          for (const ev of d.push(bytes)) if (ev.type === 'frame' && ev.payload.length > LIMIT) throw new Error(`a frame of ${ev.payload.length} bytes passed a ${LIMIT}-byte limit`);
          if (d.pending > LIMIT + 2) throw new Error(`the decoder holds ${d.pending} bytes`);
        });
      }, () => false);
    }), { numRuns: RUNS });
  });

  it('X12 reader and the 835 reader: damaged 835s read or raise X12ReadError', async () => {
    await fc.assert(fc.asyncProperty(fc.oneof(mutated(X835), fc.string({ maxLength: 300 }).map((s) => `ISA*${s}`)), async (text) => {
      await mustBeTyped(() => readX12(text), isX12);
      await mustBeTyped(async () => {
        const kinds = new Set<string>();
        for await (const ev of read835([Buffer.from(text, 'latin1')])) kinds.add(ev.kind);
        return kinds;
      }, isX12);
    }), { numRuns: Math.ceil(RUNS / 2) });
  });

  it('999 and 277CA readers: damaged acknowledgements read or raise X12ReadError', async () => {
    await fc.assert(fc.asyncProperty(mutated(ACKS), async (text) => {
      await mustBeTyped(async () => {
        const segments = await readX12(text);
        const st = segments.find((s) => s.id === 'ST');
        if (st?.elements[0]?.[0] === '999') read999(segments);
        else read277ca(segments);
      }, isX12);
    }), { numRuns: RUNS });
  });
});
