import { Hl7Error, Hl7ErrorCode } from './errors';

/** A parsed HL7 location path such as `FT1[2]-7(1).1.2`; every number 1-based. */
export interface Hl7Path {
  segment: string;
  /** Segment occurrence; undefined means "the first" for get and "every one" for getAll. */
  occurrence?: number;
  field?: number;
  /** Field repetition; undefined means "the first" for get and "every one" for getAll. */
  repetition?: number;
  component?: number;
  subcomponent?: number;
}

const PATH_RE = /^([A-Z0-9]{2,3})(?:\[(\d+)\])?(?:[-.](\d+)(?:[([](\d+)[)\]])?(?:\.(\d+)(?:\.(\d+))?)?)?$/;
const cache = new Map<string, Hl7Path>();
const CACHE_LIMIT = 10_000;

function positive(s: string | undefined, path: string): number | undefined {
  if (s === undefined) return undefined;
  const n = Number(s);
  if (n < 1) throw new Hl7Error(`path "${path}" uses position 0; HL7 positions start at 1`, Hl7ErrorCode.ApplicationInternalError);
  return n;
}

/**
 * Parses `SEG[n]-f(r).c.s` (also `SEG-f[r]` and `SEG.f`). Parsed paths are cached: feeds read
 * the same few dozen paths from every message, so each is parsed once per process.
 */
export function parsePath(path: string): Hl7Path {
  const hit = cache.get(path);
  if (hit) return hit;
  const m = PATH_RE.exec(path);
  if (!m) throw new Hl7Error(`"${path}" is not an HL7 path such as PID-3.1 or FT1[2]-7`, Hl7ErrorCode.ApplicationInternalError);
  const p: Hl7Path = Object.freeze({
    segment: m[1] as string,
    occurrence: positive(m[2], path),
    field: m[3] === undefined ? undefined : Number(m[3]),
    repetition: positive(m[4], path),
    component: positive(m[5], path),
    subcomponent: positive(m[6], path),
  });
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(path, p);
  return p;
}
