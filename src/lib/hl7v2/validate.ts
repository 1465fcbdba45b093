import { Hl7Error, Hl7ErrorCode } from './errors';
import type { Message } from './message';

/** HL7 v2 versions this engine accepts in MSH-12.1. */
export const SUPPORTED_VERSIONS: ReadonlySet<string> = new Set([
  '2.1', '2.2', '2.3', '2.3.1', '2.4', '2.5', '2.5.1', '2.6', '2.7', '2.7.1', '2.8', '2.8.1', '2.8.2', '2.9',
]);

/** MSH-11 processing ids (HL7 table 0103): production, training, debugging. */
export const SUPPORTED_PROCESSING_IDS: ReadonlySet<string> = new Set(['P', 'T', 'D']);

/** Standard segment ids whose appearance glued inside another segment betrays a lost separator. */
const KNOWN_SEGMENTS = [
  'EVN', 'PID', 'PD1', 'NK1', 'PV1', 'PV2', 'GT1', 'IN1', 'IN2', 'IN3', 'DG1', 'PR1', 'FT1', 'MRG',
  'OBX', 'ORC', 'OBR', 'NTE', 'AL1', 'ACC', 'UB1', 'UB2', 'ROL', 'DRG', 'ZPI',
];

const gluedPatterns = new Map<string, RegExp>();
/** "<not a letter, not the separator>SEG<separator>" for the known segment ids, compiled once per separator. */
function gluedSegmentPattern(field: string): RegExp {
  let re = gluedPatterns.get(field);
  if (re === undefined) {
    const f = field.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    re = new RegExp(`([^A-Za-z${f}])(${KNOWN_SEGMENTS.join('|')})${f}`, 'g');
    gluedPatterns.set(field, re);
  }
  return re;
}

export interface EnvelopeProblem {
  /** 'reject' → AR (the message cannot be handled at all); 'error' → AE (content is wrong). */
  kind: 'reject' | 'error';
  error: Hl7Error;
}

/**
 * Header and structure checks that do not depend on the message type: MSH-2 ambiguity,
 * MSH-12 version, MSH-11 processing id (a missing one only when `strict`), and segments glued
 * together by a lost separator.
 */
export function checkEnvelope(msg: Message, opts: { strict?: boolean } = {}): EnvelopeProblem[] {
  const problems: EnvelopeProblem[] = [];
  const d = msg.delimiters;
  // A three-character MSH-2 is only unambiguous when its third character is the usual escape
  // character: otherwise it could be "escape, no subcomponent" or "no escape, subcomponent".
  if (d.subcomponent === '' && d.escape !== '\\') {
    problems.push({
      kind: 'error',
      error: new Hl7Error(
        'MSH-2 has 3 encoding characters and the third is not "\\": the escape and subcomponent characters are ambiguous',
        Hl7ErrorCode.DataTypeError,
        { segment: 'MSH', field: 2 },
      ),
    });
  }
  const version = msg.get('MSH-12');
  const versionRaw = msg.getRaw('MSH-12.1') === msg.getRaw('MSH-12') ? undefined : msg.getRaw('MSH-12');
  if (version === '' || !SUPPORTED_VERSIONS.has(version)) {
    problems.push({
      kind: 'reject',
      error: new Hl7Error(
        version === '' ? 'MSH-12 version id is missing' : `MSH-12 version id "${version}" is not a supported HL7 v2 version`,
        Hl7ErrorCode.UnsupportedVersionId,
        { segment: 'MSH', field: 12 },
      ),
    });
  } else if (versionRaw !== undefined && versionRaw.split(d.repetition)[0] !== version && Number(version.slice(0, 3)) < 2.4) {
    // MSH-12 became the composite VID in v2.4; earlier versions define it as a plain ID.
    problems.push({
      kind: 'reject',
      error: new Hl7Error(`MSH-12 has components, which version ${version} does not define (VID starts with v2.4)`, Hl7ErrorCode.UnsupportedVersionId, { segment: 'MSH', field: 12 }),
    });
  }
  const processingId = msg.get('MSH-11');
  // A missing processing id is taken as P (production) unless the checks are strict (the caller
  // records a warning); a wrong one is always refused.
  if (!SUPPORTED_PROCESSING_IDS.has(processingId) && !(processingId === '' && opts.strict !== true)) {
    problems.push({
      kind: 'reject',
      error: new Hl7Error(
        processingId === '' ? 'MSH-11 processing id is missing' : `MSH-11 processing id "${processingId}" is not P, T or D`,
        Hl7ErrorCode.UnsupportedProcessingId,
        { segment: 'MSH', field: 11 },
      ),
    });
  }
  const present = new Set(msg.segments().map((s) => s.name));
  if (KNOWN_SEGMENTS.some((id) => !present.has(id))) {
    const glued = gluedSegmentPattern(d.field);
    for (const seg of msg.segments()) {
      if (seg.name === 'MSH') continue;
      const text = seg.toString();
      glued.lastIndex = 4;
      for (let m = glued.exec(text); m !== null; m = glued.exec(text)) {
        const id = m[2] as string;
        if (present.has(id)) continue;
        problems.push({
          kind: 'error',
          error: new Hl7Error(
            `an ${id} segment seems glued into ${seg.name} (segment separator missing before it)`,
            Hl7ErrorCode.SegmentSequenceError,
            { segment: seg.name, sequence: msg.segments(seg.name).indexOf(seg) + 1 },
          ),
        });
        break;
      }
    }
  }
  return problems;
}

/**
 * Recovers a message whose segment separators were turned into single spaces (a common result of
 * pasting into a form or log): only when the whole text is one line and " SEG|" appears for
 * known segment ids. Returns undefined when the text is not of that shape.
 */
export function recoverSpaceSeparatedSegments(text: string): string | undefined {
  if (!text.startsWith('MSH')) return undefined;
  let end = text.length;
  while (end > 0 && (text.charCodeAt(end - 1) === 13 || text.charCodeAt(end - 1) === 10)) end--;
  const cr = text.indexOf('\r');
  const lf = text.indexOf('\n');
  // A separator before the trailing ones: the message has lines, nothing to recover.
  if ((cr >= 0 && cr < end) || (lf >= 0 && lf < end)) return undefined;
  const body = text.slice(0, end);
  const f = body.charAt(3);
  const re = new RegExp(` (${['MSH', ...KNOWN_SEGMENTS].join('|')})\\${f}`, 'g');
  if (!re.test(body)) return undefined;
  return body.replace(re, (_m, id: string) => `\r${id}${f}`) + '\r';
}
