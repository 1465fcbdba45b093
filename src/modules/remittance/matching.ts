/**
 * Matching an 835 to what we sent, pure. A claim payment (CLP) is matched to our claim by CLP01 =
 * our patient control number (CLM01) exactly, else by CLP07 = the payer's claim number of an
 * earlier 835 or 277CA (REF*1K); never by patient name. A service payment (SVC) is matched to a
 * line by REF*6R = our line control number, else by procedure (the billed code of SVC06 when the
 * payer restated it), modifiers (a dropped or reordered one tolerated), date and units. What
 * matches nothing, or more than one thing, is left unmatched with the reason.
 */
import type { ServicePayment835 } from '../../lib/x12';

/** Claim statuses in which the payer has the claim: an 835 may pay it. */
export const SENT_STATUSES = new Set(['submitted', 'accepted', 'rejected', 'payer_accepted', 'payer_rejected', 'paid', 'partially_paid', 'denied', 'reversed', 'forwarded', 'replaced']);

export interface CandidateClaim {
  id: string;
  patientControlNumber: string;
  status: string;
  /** practice_payer id of the claim's payer. */
  payerRowId: string | null;
  /** X12 payer ids of the claim's other payers (loop 2330B), for crossovers. */
  otherPayerIds: string[];
}

export interface TransactionPayer {
  /** The practice payer the 835 names, when it names exactly one. */
  rowId: string | null;
  /** Its X12 payer id. */
  payerId: string | null;
}

export type ClaimMatch =
  | { status: 'matched'; claimId: string; method: 'patient_control_number' | 'payer_claim_control_number'; ownPayer: boolean; note?: string }
  | { status: 'unmatched' | 'ambiguous' | 'payer_mismatch' | 'not_sent'; candidates: string[]; note: string };

/**
 * The claim a claim payment belongs to. `byPcn` is the claim whose CLM01 is CLP01 (unique), and
 * `byIcn` the claims the payer's claim number CLP07 was seen on.
 */
export function matchClaim(pcn: string, icn: string | undefined, byPcn: CandidateClaim | undefined, byIcn: CandidateClaim[], payer: TransactionPayer): ClaimMatch {
  let claim: CandidateClaim;
  let method: 'patient_control_number' | 'payer_claim_control_number';
  if (byPcn) {
    claim = byPcn;
    method = 'patient_control_number';
  } else {
    const distinct = [...new Map(byIcn.map((c) => [c.id, c])).values()];
    if (distinct.length === 0) {
      return { status: 'unmatched', candidates: [], note: `no claim has patient control number ${pcn}${icn !== undefined ? ` or payer claim number ${icn}` : ''}` };
    }
    if (distinct.length > 1) {
      return { status: 'ambiguous', candidates: distinct.map((c) => c.id), note: `no claim has patient control number ${pcn}; payer claim number ${icn ?? ''} is on ${distinct.length} claims (${distinct.map((c) => c.patientControlNumber).join(', ')})` };
    }
    claim = distinct[0] as CandidateClaim;
    method = 'payer_claim_control_number';
  }
  if (!SENT_STATUSES.has(claim.status)) {
    return { status: 'not_sent', candidates: [claim.id], note: `claim ${claim.patientControlNumber} was never sent (it is ${claim.status}): a payment for it is not posted until someone confirms it` };
  }
  if (payer.rowId !== null && claim.payerRowId !== null && payer.rowId !== claim.payerRowId) {
    // A crossover: the claim's other payer (2330B) pays on the claim the primary forwarded.
    if (payer.payerId !== null && claim.otherPayerIds.includes(payer.payerId)) {
      return { status: 'matched', claimId: claim.id, method, ownPayer: false, note: `paid by another payer of the claim (${payer.payerId}): a crossover` };
    }
    return { status: 'payer_mismatch', candidates: [claim.id], note: `claim ${claim.patientControlNumber} was sent to another payer than the one paying it` };
  }
  return { status: 'matched', claimId: claim.id, method, ownPayer: true };
}

export interface CandidateLine {
  id: string;
  controlNumber: string;
  procedureCode: string | null;
  modifiers: string[];
  revenueCode: string | null;
  quantity: string;
  serviceDate: string;
  serviceEndDate: string | null;
}

export type LineMatch = { lineId: string; method: 'line_control_number' | 'procedure'; note?: string } | { lineId: null; note: string };

const absolute = (v: string): string => v.replace(/^-/, '');
const sameNumber = (a: string, b: string): boolean => Number(absolute(a)) === Number(absolute(b));

/**
 * The line each service payment pays, within the matched claim. REF*6R first; then the billed
 * procedure (SVC06 when present, else SVC01) or revenue code (NU), scored on modifiers, date and
 * units; the best candidate wins only when it is the only best one.
 */
export function matchLines(services: readonly ServicePayment835[], lines: readonly CandidateLine[]): LineMatch[] {
  const byControl = new Map(lines.map((l) => [l.controlNumber, l]));
  const used = new Set<string>();
  const out: LineMatch[] = services.map(() => ({ lineId: null, note: '' }));
  // Pass 1: control numbers.
  services.forEach((s, i) => {
    const line = s.lineControlNumber === undefined ? undefined : byControl.get(s.lineControlNumber);
    if (line && !used.has(line.id)) {
      used.add(line.id);
      out[i] = { lineId: line.id, method: 'line_control_number' };
    }
  });
  // Pass 2: procedure, modifiers, date, units.
  services.forEach((s, i) => {
    if (out[i]?.lineId) return;
    const billed = s.original && s.original.code !== '' ? s.original : s;
    const revenue = billed.qualifier === 'NU';
    const units = s.original?.units ?? s.units;
    const scored = lines
      .filter((l) => !used.has(l.id))
      .filter((l) => (revenue ? l.revenueCode === billed.code : l.procedureCode === billed.code))
      .map((l) => {
        const mods = new Set(l.modifiers);
        // A dropped or reordered modifier is tolerated; one we never billed is not.
        const modifiersFit = billed.modifiers.every((m) => mods.has(m));
        const sameModifiers = modifiersFit && billed.modifiers.length === l.modifiers.length;
        const dateFits = s.serviceDate === undefined || s.serviceDate === l.serviceDate || (l.serviceEndDate !== null && s.serviceDate >= l.serviceDate && s.serviceDate <= l.serviceEndDate);
        return { l, fits: modifiersFit && dateFits, score: (sameModifiers ? 4 : 0) + (s.serviceDate === l.serviceDate ? 2 : 0) + (sameNumber(units, l.quantity) ? 1 : 0) };
      })
      .filter((x) => x.fits);
    const best = Math.max(-1, ...scored.map((x) => x.score));
    const top = scored.filter((x) => x.score === best);
    const what = `${billed.qualifier}:${billed.code}${billed.modifiers.length ? `:${billed.modifiers.join(':')}` : ''}${s.serviceDate !== undefined ? ` on ${s.serviceDate}` : ''}`;
    const controlNote = s.lineControlNumber !== undefined ? `REF*6R ${s.lineControlNumber} names no line of this claim; ` : '';
    if (top.length === 1) {
      const l = (top[0] as (typeof top)[number]).l;
      used.add(l.id);
      out[i] = { lineId: l.id, method: 'procedure', note: controlNote === '' ? undefined : `${controlNote}matched by procedure` };
    } else if (top.length === 0) {
      out[i] = { lineId: null, note: `${controlNote}no line of the claim was billed as ${what}` };
    } else {
      out[i] = { lineId: null, note: `${controlNote}${top.length} lines of the claim fit ${what} equally` };
    }
  });
  return out;
}
