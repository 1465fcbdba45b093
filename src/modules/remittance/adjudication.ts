/**
 * What a claim's payments add up to, pure: its status after posting, each line's status, the
 * denial records it leaves, and its balance. Everything is a sum over the ledger (reversals are
 * negating payments, so a reversal and its correction net out in any order); only the payments
 * of the claim's own payer count towards its status and balance (a crossover payment by the
 * claim's other payer is listed apart).
 *
 * Which adjustments are "expected" (not a denial): patient responsibility (group PR), the
 * contractual write-offs below, and OA-23 (the prior payer's adjudication, on a secondary).
 * Everything else that reduces a payment is a denial or a short payment for someone to work.
 */

/** CARCs of a contractual write-off under group CO: the payer paid what the contract says. */
export const CONTRACTUAL_CARCS = new Set([
  '45', // charge exceeds fee schedule / maximum allowable or contracted/legislated fee arrangement
  '42', // charges exceed our fee schedule or maximum allowable amount (deactivated, still seen on old claims)
  '131', // claim specific negotiated discount
  '253', // sequestration: reduction of federal payment
  '144', // incentive adjustment (negative: an increase)
]);

export interface PostedAdjustment {
  group: string;
  reason: string;
  amountCents: number;
}

export interface PostedService {
  id: string;
  claimLineId: string | null;
  /** SVC01 as adjudicated (the next payer's SVD03), SVC04, SVC05. */
  procedure?: { qualifier: string; code: string; modifiers: string[] };
  revenueCode?: string;
  units?: string;
  chargeCents: number;
  paidCents: number;
  underpaidCents: number;
  remarks: string[];
  adjustments: PostedAdjustment[];
}

export interface PostedPayment {
  id: string;
  statusCode: string;
  ownPayer: boolean;
  crossover: boolean;
  /** The payment this one reverses (CLP02 22), when found. */
  reversesId: string | null;
  /** CLP07. */
  payerClaimControlNumber: string | null;
  chargeCents: number;
  paidCents: number;
  interestCents: number;
  paymentDate: string | null;
  remarks: string[];
  adjustments: PostedAdjustment[];
  services: PostedService[];
}

export interface ClaimLineView {
  id: string;
  lineNumber: number;
  chargeCents: number;
  serviceDate: string;
}

export type LineStatus = 'pending' | 'paid' | 'partially_paid' | 'denied' | 'reversed';
export type PaymentClaimStatus = 'paid' | 'partially_paid' | 'denied' | 'reversed' | 'forwarded';

export interface LineState {
  lineId: string;
  status: LineStatus;
  paidCents: number;
  /** Net adjustments on the line (non-zero ones), by group and reason. */
  adjustments: PostedAdjustment[];
}

export interface DenialDraft {
  lineId: string | null;
  kind: 'denied' | 'short_paid' | 'underpaid';
  /** The adjustments that are not expected (net, positive), with group and reason. */
  carcs: PostedAdjustment[];
  rarcs: string[];
  billedCents: number;
  paidCents: number;
  /** What the payer did not pay for a reason someone can work: Σ carcs + underpaid. */
  amountCents: number;
  serviceDate: string | null;
  /** The payment that made it (the latest standing one with such an adjustment). */
  paymentId: string;
}

export interface BalanceCents {
  billed: number;
  paid: number;
  contractual: number;
  patientResponsibility: number;
  otherAdjusted: number;
  outstanding: number;
  /** Paid on this claim by another payer of it (a crossover), not part of the balance above. */
  otherPayersPaid: number;
  /** AMT*I: interest paid with the claim, apart from its A/R. */
  interest: number;
}

export interface Adjudication {
  /** undefined: no payment of the claim's own payer yet. */
  status: PaymentClaimStatus | undefined;
  lines: LineState[];
  denials: DenialDraft[];
  balance: BalanceCents;
}

export function isExpectedAdjustment(group: string, reason: string): boolean {
  if (group === 'PR') return true;
  if (group === 'CO') return CONTRACTUAL_CARCS.has(reason);
  return group === 'OA' && reason === '23';
}

function net(list: PostedAdjustment[]): PostedAdjustment[] {
  const sums = new Map<string, PostedAdjustment>();
  for (const a of list) {
    const k = `${a.group}|${a.reason}`;
    const e = sums.get(k);
    if (e) e.amountCents += a.amountCents;
    else sums.set(k, { group: a.group, reason: a.reason, amountCents: a.amountCents });
  }
  return [...sums.values()].filter((a) => a.amountCents !== 0);
}

const unexpected = (list: PostedAdjustment[]): PostedAdjustment[] => list.filter((a) => a.amountCents > 0 && !isExpectedAdjustment(a.group, a.reason));
const sum = (list: PostedAdjustment[]): number => list.reduce((s, a) => s + a.amountCents, 0);
const isReversal = (p: PostedPayment): boolean => p.statusCode === '22';
/** CLP02 25 (predetermination) pays nothing; 23 (not our claim, forwarded) neither. */
const isAdjudication = (p: PostedPayment): boolean => !isReversal(p) && p.statusCode !== '25' && p.statusCode !== '23';

/** The claim's status, line statuses, denial records and balance from all its payments (in the order they were posted). */
export function adjudicate(totalChargeCents: number, lines: readonly ClaimLineView[], payments: readonly PostedPayment[]): Adjudication {
  const own = payments.filter((p) => p.ownPayer);
  const reversedIds = new Set(own.flatMap((p) => (isReversal(p) && p.reversesId !== null ? [p.reversesId] : [])));
  // Payments that stand: adjudications not reversed (when the reversal names its original).
  const standing = own.filter((p) => isAdjudication(p) && !reversedIds.has(p.id));
  const adjudications = own.filter(isAdjudication).length;
  const reversals = own.filter(isReversal).length;

  const balance: BalanceCents = { billed: totalChargeCents, paid: 0, contractual: 0, patientResponsibility: 0, otherAdjusted: 0, outstanding: 0, otherPayersPaid: 0, interest: 0 };
  for (const p of payments) {
    if (!p.ownPayer) {
      balance.otherPayersPaid += p.paidCents;
      continue;
    }
    balance.paid += p.paidCents;
    balance.interest += p.interestCents;
    for (const a of [...p.adjustments, ...p.services.flatMap((s) => s.adjustments)]) {
      if (a.group === 'CO') balance.contractual += a.amountCents;
      else if (a.group === 'PR') balance.patientResponsibility += a.amountCents;
      else balance.otherAdjusted += a.amountCents;
    }
  }
  balance.outstanding = balance.billed - balance.paid - balance.contractual - balance.patientResponsibility - balance.otherAdjusted;

  if (own.length === 0) return { status: undefined, lines: lines.map((l) => ({ lineId: l.id, status: 'pending', paidCents: 0, adjustments: [] })), denials: [], balance };

  const rarcsOf = (ps: PostedPayment[]): string[] => [...new Set(ps.flatMap((p) => p.remarks))];
  const lineStates: LineState[] = [];
  const denials: DenialDraft[] = [];
  for (const l of lines) {
    const all = own.flatMap((p) => p.services.filter((s) => s.claimLineId === l.id).map((s) => ({ p, s })));
    const stand = all.filter((x) => standing.includes(x.p));
    const adjustments = net(all.flatMap((x) => x.s.adjustments));
    const paidCents = all.reduce((t, x) => t + x.s.paidCents, 0);
    const denied = unexpected(adjustments);
    const underpaid = stand.reduce((t, x) => t + x.s.underpaidCents, 0);
    let status: LineStatus;
    if (all.length === 0) status = 'pending';
    else if (stand.length === 0 || paidCents < 0) status = 'reversed';
    else if (paidCents > 0) status = denied.length > 0 || underpaid > 0 ? 'partially_paid' : 'paid';
    else status = denied.length > 0 ? 'denied' : 'paid';
    lineStates.push({ lineId: l.id, status, paidCents, adjustments });
    if (status === 'denied' || status === 'partially_paid') {
      const latest = [...stand].reverse().find((x) => x.s.adjustments.some((a) => !isExpectedAdjustment(a.group, a.reason)) || x.s.underpaidCents > 0) ?? stand[stand.length - 1];
      denials.push({
        lineId: l.id, kind: status === 'denied' ? 'denied' : denied.length > 0 ? 'short_paid' : 'underpaid', carcs: denied,
        rarcs: [...new Set([...stand.flatMap((x) => x.s.remarks), ...rarcsOf(stand.map((x) => x.p))])], billedCents: l.chargeCents, paidCents,
        amountCents: sum(denied) + underpaid, serviceDate: l.serviceDate, paymentId: latest ? latest.p.id : '',
      });
    }
  }

  const claimAdjustments = net(own.flatMap((p) => p.adjustments));
  const claimDenied = unexpected(claimAdjustments);
  const anyUnexpected = claimDenied.length > 0 || lineStates.some((l) => unexpected(l.adjustments).length > 0);
  let status: PaymentClaimStatus;
  if (adjudications <= reversals) status = 'reversed';
  else if (standing.length > 0 && (standing[standing.length - 1] as PostedPayment).crossover) status = 'forwarded';
  else if (balance.paid === 0 && anyUnexpected) status = 'denied';
  else if (lineStates.every((l) => l.status === 'paid') && claimDenied.length === 0) status = 'paid';
  else status = 'partially_paid';

  if (status === 'denied') {
    // A claim denied without line detail: its lines are denied with it.
    for (const l of lineStates) if (l.status === 'pending') l.status = 'denied';
  }
  if (claimDenied.length > 0 && standing.length > 0) {
    const latest = [...standing].reverse().find((p) => p.adjustments.some((a) => !isExpectedAdjustment(a.group, a.reason))) ?? standing[standing.length - 1];
    denials.push({
      lineId: null, kind: status === 'denied' ? 'denied' : 'short_paid', carcs: claimDenied, rarcs: rarcsOf(standing), billedCents: totalChargeCents, paidCents: balance.paid,
      amountCents: sum(claimDenied), serviceDate: lines[0]?.serviceDate ?? null, paymentId: latest?.id ?? '',
    });
  }
  return { status, lines: lineStates, denials: status === 'reversed' ? [] : denials, balance };
}
