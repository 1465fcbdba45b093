/**
 * The 835 health care claim payment/advice (005010X221A1), read as a stream: one event per
 * transaction header (BPR, TRN, payer, payee), one per claim payment (a CLP loop with its service
 * lines) as soon as it is complete, and one per transaction trailer (PLB, balance), so that memory
 * stays flat however large the file. Everything the TR3 carries is kept: what posting uses is
 * typed, the rest is kept as reference/date/amount/quantity lists.
 *
 * Money is read as exact decimal strings (whole cents: an amount with more is refused) and summed
 * in integer cents. The three balancing rules (TR3 1.10.2.1, as quoted by RFIs 2348 and 2601):
 * line SVC02 - ΣCAS = SVC03; claim CLP03 - Σ(claim and line CAS) = CLP04; transaction
 * ΣCLP04 - ΣPLB = BPR02. A positive CAS or PLB amount reduces the payment.
 */
import { addCents, fromCents, toCents } from '../decimal';
import { EnvelopeTracker, el, segmentAt, streamX12Batches, X12ElementError, X12ReadError, type X12Segment } from './reader';

export interface Reference835 {
  qualifier: string;
  value: string;
}
export interface Date835 {
  qualifier: string;
  /** YYYY-MM-DD */
  date: string;
}
export interface Amount835 {
  qualifier: string;
  amount: string;
}
export interface Quantity835 {
  qualifier: string;
  quantity: string;
}

/** A CAS triplet: group code (CO, OA, PI, PR; CR in 4010 files), CARC, amount, quantity. */
export interface Adjustment835 {
  group: string;
  reason: string;
  amount: string;
  quantity?: string;
}

/** An NM1: entity (QC patient, IL insured, 74 corrected insured, 82 rendering, TT crossover carrier, PR corrected payer, GB other subscriber). */
export interface Name835 {
  entity: string;
  /** 1 person, 2 organization. */
  type: string;
  last?: string;
  first?: string;
  middle?: string;
  suffix?: string;
  idQualifier?: string;
  id?: string;
}

export interface Address835 {
  line1?: string;
  line2?: string;
  city?: string;
  state?: string;
  zip?: string;
  country?: string;
}

export interface Party835 {
  name: string;
  idQualifier?: string;
  id?: string;
  address?: Address835;
  references: Reference835[];
  /** PER: function (CX claims, BL technical, IC web site), name, communication numbers. */
  contacts: { function: string; name?: string; numbers: { qualifier: string; value: string }[] }[];
}

export interface ServicePayment835 {
  /** Position of the SVC segment in the file. */
  position: number;
  /** SVC01-1: HC (HCPCS/CPT), NU (revenue code), AD, ER, HP, IV, N4, N6, UI, WK. */
  qualifier: string;
  code: string;
  modifiers: string[];
  description?: string;
  charge: string;
  paid: string;
  /** SVC04: revenue code when SVC01 carries a procedure. */
  revenueCode?: string;
  /** SVC05, 1 when not sent. */
  units: string;
  /** SVC06/SVC07: what was billed when the payer changed the code (a restated code, a bundle). */
  original?: { qualifier: string; code: string; modifiers: string[]; description?: string; units?: string };
  /** REF*6R: our line's control number. */
  lineControlNumber?: string;
  serviceDate?: string;
  serviceEndDate?: string;
  /** AMT*B6. */
  allowed?: string;
  adjustments: Adjustment835[];
  /** LQ*HE: remittance advice remark codes. */
  remarks: string[];
  /** LQ*RX: NCPDP reject codes. */
  pharmacyRejects: string[];
  references: Reference835[];
  dates: Date835[];
  amounts: Amount835[];
  quantities: Quantity835[];
  /** SVC02 - ΣCAS - SVC03, in cents (0 when it balances). */
  imbalanceCents: number;
}

export interface ClaimPayment835 {
  /** Position of the CLP segment in the file. */
  position: number;
  /** LX01 of the header number loop (2000) it sits in. */
  headerNumber?: string;
  patientControlNumber: string;
  /** CLP02: 1/2/3 processed as primary/secondary/tertiary, 4 denied, 19/20/21 processed and forwarded, 22 reversal, 23 not our claim (forwarded), 25 predetermination. */
  status: string;
  charge: string;
  paid: string;
  patientResponsibility?: string;
  filingIndicator?: string;
  payerClaimControlNumber?: string;
  facilityCode?: string;
  frequency?: string;
  drg?: string;
  drgWeight?: string;
  dischargeFraction?: string;
  adjustments: Adjustment835[];
  names: Name835[];
  /** MIA (inpatient adjudication) elements as sent, MIA01 first. */
  inpatient?: string[];
  /** MOA (outpatient adjudication) elements as sent, MOA01 first. */
  outpatient?: string[];
  /** Claim-level remark codes: MOA03-07 and MIA05, MIA20-23. */
  remarks: string[];
  references: Reference835[];
  dates: Date835[];
  amounts: Amount835[];
  quantities: Quantity835[];
  contacts: Party835['contacts'];
  statementFrom?: string;
  statementTo?: string;
  /** AMT*I: interest paid on the claim (not part of the claim's balance; PLB L6 carries it). */
  interest?: string;
  services: ServicePayment835[];
  /** CLP03 - Σ(claim and line CAS) - CLP04, in cents. */
  imbalanceCents: number;
  /** CLP05 - Σ PR adjustments, in cents (the TR3 asks CLP05 to be supported by PR adjustments; reversals excepted). */
  patientResponsibilityDifferenceCents: number;
}

export interface ProviderAdjustment835 {
  position: number;
  /** PLB01: the provider (usually the NPI or tax id). */
  providerId: string;
  /** PLB02: end of the provider's fiscal period. */
  fiscalPeriodDate: string;
  /** PLB03-1 (and 05-1, ...): WO overpayment recovery, FB forward balance, L6 interest, 72 authorized return, ... */
  reason: string;
  /** PLB03-2: usually the payer's claim number the adjustment is about. */
  reference?: string;
  amount: string;
}

export interface Transaction835Header {
  /** Position of the ST segment. */
  position: number;
  controlNumber: string;
  /** GS08 (or ST03): 005010X221A1; anything else is read the same way, with a warning. */
  version: string;
  interchangeControlNumber: string;
  groupControlNumber: string;
  senderId: string;
  receiverId: string;
  payment: {
    /** BPR01: C payment and remittance, D payment only, H notification only (no money), I remittance information only, P prenotification, U split, X either. */
    handling: string;
    amount: string;
    /** BPR03: C credit, D debit (the provider owes). */
    creditDebit: string;
    /** BPR04: ACH, BOP, CHK, FWT, NON. */
    method: string;
    format?: string;
    date?: string;
    /** BPR06-15 as sent: banks and accounts for reassociation (not PHI; kept, never logged). */
    banking: string[];
  };
  trace: { type: string; number: string; originatorId: string; supplementalId?: string };
  currency?: string;
  references: Reference835[];
  productionDate?: string;
  payer: Party835;
  payee: Party835;
  /** What is odd but readable (version, CR group codes, a missing payee). */
  warnings: string[];
}

export interface Transaction835Trailer {
  header: Transaction835Header;
  providerAdjustments: ProviderAdjustment835[];
  claims: number;
  /** Claim payments kept aside as unreadable (not in paidCents). */
  unreadable: number;
  /** Σ CLP04, Σ PLB amounts, and ΣCLP04 - ΣPLB - BPR02 (BPR02 negated for a debit), in cents. */
  paidCents: number;
  providerAdjustmentCents: number;
  imbalanceCents: number;
  /** Σ AMT*I of the claims against Σ PLB L6 (RFI 2123: the L6 must be their sum, unless it is 0). */
  interestCents: number;
  interestPlbCents: number;
}

/** A claim payment loop with a value that cannot be read: kept aside (never posted), the rest of the file is read on. */
export interface UnreadableClaim835 {
  /** Position of its CLP segment. */
  position: number;
  patientControlNumber?: string;
  payerClaimControlNumber?: string;
  error: string;
  /** Segment and element at fault. */
  location: string;
}

export type Remit835Event =
  | { kind: 'transaction'; header: Transaction835Header }
  | { kind: 'claim'; header: Transaction835Header; claim: ClaimPayment835 }
  | { kind: 'unreadable'; header: Transaction835Header; claim: UnreadableClaim835 }
  | { kind: 'end'; trailer: Transaction835Trailer };

export const VERSION_835 = '005010X221A1';
const GROUP_CODES = new Set(['CO', 'OA', 'PI', 'PR']);
/** Segments a claim payment loop (2100) may hold besides its service lines. */
const CLAIM_SEGMENTS = new Set(['CAS', 'NM1', 'MIA', 'MOA', 'REF', 'DTM', 'PER', 'AMT', 'QTY']);
const SERVICE_SEGMENTS = new Set(['DTM', 'CAS', 'REF', 'AMT', 'QTY', 'LQ']);

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** CCYYMMDD → YYYY-MM-DD (a day of the calendar), or a located error. */
function date(seg: X12Segment, n: number, c = 1): string {
  const v = el(seg, n, c);
  const month = Number(v.slice(4, 6));
  const day = Number(v.slice(6, 8));
  const year = Number(v.slice(0, 4));
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (!/^\d{8}$/.test(v) || month < 1 || month > 12 || day < 1 || day > (month === 2 && !leap ? 28 : (DAYS_IN_MONTH[month - 1] as number))) {
    throw new X12ElementError(`"${v}" is not a date (CCYYMMDD)`, segmentAt(seg, n));
  }
  return `${v.slice(0, 4)}-${v.slice(4, 6)}-${v.slice(6, 8)}`;
}

/** A date the 835 can do without (BPR16, DTM*405): an unreadable one is dropped with a warning. */
function lenientDate(seg: X12Segment, n: number, warnings: string[]): string | undefined {
  if (el(seg, n) === '') return undefined;
  try {
    return date(seg, n);
  } catch (e) {
    if (!(e instanceof X12ElementError)) throw e;
    warn(warnings, `${e.message}; the date is not kept`);
    return undefined;
  }
}

/** An amount (X12 R) in whole cents, as a normalized decimal string; a located error otherwise. */
function money(seg: X12Segment, n: number, c = 1): string {
  const v = el(seg, n, c);
  if (v === '') throw new X12ElementError('amount missing', segmentAt(seg, n));
  const cents = toCents(v);
  if (cents === undefined) {
    throw new X12ElementError(/^[+-]?\d*\.\d{3,}$/.test(v) ? `"${v}" has more than 2 decimal places: amounts are whole cents` : `"${v}" is not an amount`, segmentAt(seg, n));
  }
  return fromCents(cents);
}

function optMoney(seg: X12Segment, n: number): string | undefined {
  return el(seg, n) === '' ? undefined : money(seg, n);
}

function quantity(seg: X12Segment, n: number): string | undefined {
  const v = el(seg, n);
  if (v === '') return undefined;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)$/.test(v)) throw new X12ElementError(`"${v}" is not a number`, segmentAt(seg, n));
  return v;
}

function required(seg: X12Segment, n: number, what: string): string {
  const v = el(seg, n);
  if (v === '') throw new X12ElementError(`${what} missing`, segmentAt(seg, n));
  return v;
}

const cents = (amount: string): number => toCents(amount) as number;
const opt = (v: string): string | undefined => (v === '' ? undefined : v);

function name(seg: X12Segment): Name835 {
  return {
    entity: el(seg, 1), type: el(seg, 2), last: opt(el(seg, 3)), first: opt(el(seg, 4)), middle: opt(el(seg, 5)), suffix: opt(el(seg, 7)),
    idQualifier: opt(el(seg, 8)), id: opt(el(seg, 9)),
  };
}

function contact(seg: X12Segment): Party835['contacts'][number] {
  const numbers: { qualifier: string; value: string }[] = [];
  for (const n of [3, 5, 7]) if (el(seg, n) !== '') numbers.push({ qualifier: el(seg, n), value: el(seg, n + 1) });
  return { function: el(seg, 1), name: opt(el(seg, 2)), numbers };
}

/** At most this many warnings per transaction are kept (the last says how many more there were). */
const MAX_WARNINGS = 50;

function warn(warnings: string[] | undefined, message: string): void {
  if (!warnings) return;
  if (warnings.length < MAX_WARNINGS) warnings.push(message);
  else if (warnings.length === MAX_WARNINGS) warnings.push('more warnings of the same kinds were not kept');
}

/** CAS triplets (up to 6 per segment). */
function adjustments(seg: X12Segment, warnings: string[] | undefined): Adjustment835[] {
  const group = el(seg, 1);
  if (!GROUP_CODES.has(group)) {
    // CR (corrections and reversals) left the 835 in 5010 (RFI 1147) but older payers still send it.
    if (group !== 'CR') throw new X12ElementError(`"${group}" is not a claim adjustment group code (CO, OA, PI, PR)`, segmentAt(seg, 1));
    warn(warnings, `${segmentAt(seg, 1)}: group code CR is not valid in a 5010 835 (kept as sent)`);
  }
  const out: Adjustment835[] = [];
  for (let n = 2; n <= 17; n += 3) {
    const reason = el(seg, n);
    if (reason === '') {
      if (el(seg, n + 1) !== '') throw new X12ElementError('an adjustment amount without its reason code', segmentAt(seg, n));
      continue;
    }
    out.push({ group, reason, amount: money(seg, n + 1), quantity: quantity(seg, n + 2) });
  }
  if (out.length === 0) throw new X12ElementError('CAS without an adjustment (CAS02 reason code missing)', segmentAt(seg, 2));
  return out;
}

/**
 * SVC01/SVC06: qualifier, code, up to 4 modifiers, description. Some senders write the composite
 * with another separator than the one ISA16 declares (HC>99213>26 with ISA16 ':'): a lone
 * component that reads as a qualifier and a code split by '>', ':' or '^' is taken that way, with a warning.
 */
function composite(seg: X12Segment, n: number, warnings?: string[]): { qualifier: string; code: string; modifiers: string[]; description?: string } {
  let parts = seg.elements[n - 1] ?? [];
  const lone = parts.length === 1 ? /^([A-Z0-9]{2})([>:^])[A-Z0-9]/.exec(parts[0] ?? '') : null;
  if (lone) {
    parts = (parts[0] as string).split(lone[2] as string);
    warn(warnings, `${segmentAt(seg, n)}: composite written with "${lone[2] as string}" although ISA16 declares another component separator (read as qualifier ${lone[1] as string}, code ${parts[1] ?? ''})`);
  }
  return { qualifier: parts[0] ?? '', code: parts[1] ?? '', modifiers: parts.slice(2, 6).filter((m) => m !== ''), description: opt(parts[6] ?? '') };
}

type State = 'outside' | 'header' | 'payer' | 'payee' | 'detail' | 'claim' | 'service' | 'summary';

/**
 * The 835 state machine, one segment at a time (the caller checks the envelopes). Throws
 * X12ReadError naming the segment and element when the file is not an 835 or is out of order.
 */
export class Remittance835Reader {
  private state: State = 'outside';
  private header: Transaction835Header | undefined;
  private claim: ClaimPayment835 | undefined;
  private service: ServicePayment835 | undefined;
  private plb: ProviderAdjustment835[] = [];
  private headerNumber: string | undefined;
  private claims = 0;
  private paidCents = 0;
  private interestCents = 0;
  private isa: X12Segment | undefined;
  private gs: X12Segment | undefined;
  private headerEmitted = false;
  private unreadable = 0;
  /** After an unreadable value in a claim payment loop: its segments are skipped up to the next loop. */
  private skipping = false;

  /** The events a segment completes (usually none). */
  accept(seg: X12Segment): Remit835Event[] {
    const out: Remit835Event[] = [];
    if (this.skipping) {
      if (seg.id !== 'CLP' && seg.id !== 'LX' && seg.id !== 'PLB' && seg.id !== 'SE') return out;
      this.skipping = false;
    }
    const claimPosition = seg.id === 'CLP' ? seg.position : this.claim?.position;
    try {
      this.handle(seg, out);
    } catch (e) {
      // A value that cannot be read inside a claim payment loop: that claim payment is kept aside.
      if (!(e instanceof X12ElementError) || claimPosition === undefined || !(seg.id === 'CLP' || this.state === 'claim' || this.state === 'service')) throw e;
      const clp = seg.id === 'CLP' ? seg : undefined;
      const pcn = clp ? opt(el(clp, 1)) : this.claim?.patientControlNumber;
      const icn = clp ? opt(el(clp, 7)) : this.claim?.payerClaimControlNumber;
      this.claim = undefined;
      this.service = undefined;
      this.skipping = true;
      this.state = 'claim';
      this.unreadable++;
      out.push({ kind: 'unreadable', header: this.header as Transaction835Header, claim: { position: claimPosition, patientControlNumber: pcn, payerClaimControlNumber: icn, error: e.message, location: e.location } });
    }
    return out;
  }

  private handle(seg: X12Segment, out: Remit835Event[]): void {
    switch (seg.id) {
      case 'ISA':
        this.isa = seg;
        return;
      case 'GS':
        this.gs = seg;
        return;
      case 'GE':
      case 'IEA':
        return;
      case 'ST':
        this.begin(seg);
        return;
      case 'SE':
        this.endClaim(out);
        this.emitHeader(out, seg);
        out.push({ kind: 'end', trailer: this.trailer() });
        this.state = 'outside';
        this.header = undefined;
        return;
      default:
        break;
    }
    const h = this.header;
    if (!h) throw new X12ReadError(`${seg.id} outside an 835 transaction set`, segmentAt(seg));
    switch (seg.id) {
      case 'BPR':
        if (this.state !== 'header' || h.payment.handling !== '') throw new X12ReadError('BPR out of place: it must follow ST', segmentAt(seg));
        h.payment = {
          handling: required(seg, 1, 'BPR01 transaction handling code'), amount: money(seg, 2), creditDebit: required(seg, 3, 'BPR03 credit/debit flag'),
          method: required(seg, 4, 'BPR04 payment method'), format: opt(el(seg, 5)), date: lenientDate(seg, 16, h.warnings), banking: seg.elements.slice(5, 15).map((e) => e[0] ?? ''),
        };
        if (h.payment.date === undefined && el(seg, 16) === '') h.warnings.push(`${segmentAt(seg, 16)}: check issue or EFT effective date missing`);
        return;
      case 'TRN':
        this.expect(seg, ['header'], 'TRN belongs to the header, after BPR');
        h.trace = { type: el(seg, 1), number: required(seg, 2, 'TRN02 check or EFT trace number'), originatorId: el(seg, 3), supplementalId: opt(el(seg, 4)) };
        return;
      case 'CUR':
        this.expect(seg, ['header'], 'CUR belongs to the header');
        h.currency = el(seg, 2);
        if (h.currency !== 'USD') h.warnings.push(`${segmentAt(seg, 2)}: currency ${h.currency}: amounts are kept as sent`);
        return;
      case 'N1': {
        const entity = el(seg, 1);
        const party: Party835 = { name: el(seg, 2), idQualifier: opt(el(seg, 3)), id: opt(el(seg, 4)), references: [], contacts: [] };
        if (entity === 'PR') {
          this.expect(seg, ['header'], 'N1*PR (payer, loop 1000A) belongs to the header');
          h.payer = party;
          this.state = 'payer';
        } else if (entity === 'PE') {
          this.expect(seg, ['payer'], 'N1*PE (payee, loop 1000B) must follow the payer (N1*PR)');
          h.payee = party;
          this.state = 'payee';
        } else {
          throw new X12ReadError(`N101 "${entity}" is neither PR (payer) nor PE (payee)`, segmentAt(seg, 1));
        }
        return;
      }
      case 'N3':
      case 'N4': {
        this.expect(seg, ['payer', 'payee'], `${seg.id} belongs to the payer or payee loop`);
        const party = this.state === 'payer' ? h.payer : h.payee;
        party.address ??= {};
        if (seg.id === 'N3') Object.assign(party.address, { line1: opt(el(seg, 1)), line2: opt(el(seg, 2)) });
        else Object.assign(party.address, { city: opt(el(seg, 1)), state: opt(el(seg, 2)), zip: opt(el(seg, 3)), country: opt(el(seg, 4)) });
        return;
      }
      case 'RDM':
        this.expect(seg, ['payee'], 'RDM belongs to the payee loop');
        return;
      case 'LX':
        this.expect(seg, ['payer', 'payee', 'detail', 'claim', 'service'], 'LX (header number, loop 2000) must follow the payer and payee');
        this.endClaim(out);
        this.emitHeader(out, seg);
        this.headerNumber = el(seg, 1);
        this.state = 'detail';
        return;
      case 'TS3':
      case 'TS2':
        this.expect(seg, ['detail'], `${seg.id} (provider summary) must follow LX`);
        return;
      case 'CLP':
        this.expect(seg, ['payer', 'payee', 'detail', 'claim', 'service'], 'CLP (claim payment, loop 2100) must follow the payer and payee');
        this.endClaim(out);
        this.emitHeader(out, seg);
        this.beginClaim(seg);
        return;
      case 'SVC':
        this.expect(seg, ['claim', 'service'], 'SVC (service payment, loop 2110) must follow a CLP');
        this.beginService(seg, h);
        return;
      case 'LQ':
        this.expect(seg, ['service'], 'LQ (remark codes) belongs to a service payment (loop 2110)');
        if (el(seg, 1) === 'HE') this.service?.remarks.push(required(seg, 2, 'LQ02 remark code'));
        else if (el(seg, 1) === 'RX') this.service?.pharmacyRejects.push(required(seg, 2, 'LQ02 reject code'));
        else throw new X12ElementError(`LQ01 "${el(seg, 1)}" is neither HE (remark) nor RX (NCPDP reject)`, segmentAt(seg, 1));
        return;
      case 'PLB':
        this.expect(seg, ['payer', 'payee', 'detail', 'claim', 'service', 'summary'], 'PLB belongs after the claims');
        this.endClaim(out);
        this.emitHeader(out, seg);
        this.state = 'summary';
        this.providerAdjustments(seg);
        return;
      default:
        break;
    }
    // Segments whose meaning depends on the loop they sit in.
    switch (this.state) {
      case 'header':
        if (seg.id === 'REF') h.references.push({ qualifier: el(seg, 1), value: el(seg, 2) });
        else if (seg.id === 'DTM' && el(seg, 1) === '405') h.productionDate = lenientDate(seg, 2, h.warnings);
        else if (seg.id !== 'DTM') throw new X12ReadError(`${seg.id} is not a segment of the 835 header`, segmentAt(seg));
        return;
      case 'payer':
      case 'payee': {
        const party = this.state === 'payer' ? h.payer : h.payee;
        if (seg.id === 'REF') party.references.push({ qualifier: el(seg, 1), value: el(seg, 2) });
        else if (seg.id === 'PER') party.contacts.push(contact(seg));
        else throw new X12ReadError(`${seg.id} is not a segment of the ${this.state} loop (1000${this.state === 'payer' ? 'A' : 'B'})`, segmentAt(seg));
        return;
      }
      case 'claim': {
        const c = this.claim as ClaimPayment835;
        if (!CLAIM_SEGMENTS.has(seg.id)) throw new X12ReadError(`${seg.id} is not a segment of a claim payment (loop 2100)`, segmentAt(seg));
        this.claimSegment(c, seg, h);
        return;
      }
      case 'service': {
        const s = this.service as ServicePayment835;
        if (!SERVICE_SEGMENTS.has(seg.id)) throw new X12ReadError(`${seg.id} is not a segment of a service payment (loop 2110)`, segmentAt(seg));
        this.serviceSegment(s, seg, h);
        return;
      }
      case 'detail':
        throw new X12ReadError(`${seg.id} out of place: a header number loop (LX) holds TS3, TS2 and claim payments (CLP)`, segmentAt(seg));
      case 'summary':
        throw new X12ReadError(`${seg.id} after the provider adjustments (PLB): only PLB and SE may follow`, segmentAt(seg));
      case 'outside':
        throw new X12ReadError(`${seg.id} outside an 835 transaction set`, segmentAt(seg));
    }
  }

  private expect(seg: X12Segment, states: State[], why: string): void {
    if (!states.includes(this.state)) throw new X12ReadError(`out of order: ${why}`, segmentAt(seg));
  }

  private begin(st: X12Segment): void {
    if (el(st, 1) !== '835') throw new X12ReadError(`not an 835 (ST01 is "${el(st, 1)}")`, segmentAt(st, 1));
    const isa = this.isa;
    const gs = this.gs;
    const version = el(st, 3) || (gs ? el(gs, 8) : '');
    const warnings: string[] = [];
    if (version !== VERSION_835) warnings.push(`${segmentAt(st)}: version "${version}" is not ${VERSION_835}; read as ${VERSION_835}`);
    if (gs && el(gs, 1) !== 'HP') warnings.push(`${segmentAt(gs, 1)}: functional identifier "${el(gs, 1)}" is not HP (health care claim payment/advice)`);
    const empty: Party835 = { name: '', references: [], contacts: [] };
    this.header = {
      position: st.position, controlNumber: el(st, 2), version, interchangeControlNumber: isa ? el(isa, 13) : '', groupControlNumber: gs ? el(gs, 6) : '',
      senderId: gs ? el(gs, 2) : '', receiverId: gs ? el(gs, 3) : '',
      payment: { handling: '', amount: '0.00', creditDebit: '', method: '', banking: [] },
      trace: { type: '', number: '', originatorId: '' }, references: [], payer: { ...empty }, payee: { ...empty, references: [], contacts: [] }, warnings,
    };
    this.state = 'header';
    this.plb = [];
    this.claims = 0;
    this.paidCents = 0;
    this.interestCents = 0;
    this.headerNumber = undefined;
    this.headerEmitted = false;
    this.unreadable = 0;
    this.skipping = false;
  }

  /** The header is complete at the first LX, CLP, PLB or SE: it is checked and emitted once. */
  private emitHeader(out: Remit835Event[], seg: X12Segment): void {
    if (this.headerEmitted) return;
    const h = this.header as Transaction835Header;
    if (h.payment.handling === '') throw new X12ReadError('BPR (financial information) missing: it must follow ST', segmentAt(seg));
    if (h.trace.number === '') throw new X12ReadError('TRN (reassociation trace number) missing', segmentAt(seg));
    if (h.payer.name === '' && h.payer.id === undefined) throw new X12ReadError('N1*PR (payer identification, loop 1000A) missing', segmentAt(seg));
    if (h.payee.name === '' && h.payee.id === undefined) h.warnings.push(`${segmentAt(seg)}: N1*PE (payee identification, loop 1000B) missing`);
    this.headerEmitted = true;
    out.push({ kind: 'transaction', header: h });
  }

  private beginClaim(seg: X12Segment): void {
    const status = required(seg, 2, 'CLP02 claim status code');
    this.claim = {
      position: seg.position, headerNumber: this.headerNumber, patientControlNumber: required(seg, 1, 'CLP01 patient control number'), status,
      charge: money(seg, 3), paid: money(seg, 4), patientResponsibility: optMoney(seg, 5), filingIndicator: opt(el(seg, 6)), payerClaimControlNumber: opt(el(seg, 7)),
      facilityCode: opt(el(seg, 8)), frequency: opt(el(seg, 9)), drg: opt(el(seg, 11)), drgWeight: opt(el(seg, 12)), dischargeFraction: opt(el(seg, 13)),
      adjustments: [], names: [], remarks: [], references: [], dates: [], amounts: [], quantities: [], contacts: [], services: [], imbalanceCents: 0,
      patientResponsibilityDifferenceCents: 0,
    };
    this.service = undefined;
    this.state = 'claim';
  }

  private claimSegment(c: ClaimPayment835, seg: X12Segment, h: Transaction835Header): void {
    switch (seg.id) {
      case 'CAS':
        c.adjustments.push(...adjustments(seg, h.warnings));
        break;
      case 'NM1':
        c.names.push(name(seg));
        break;
      case 'MIA':
        c.inpatient = seg.elements.map((e) => e[0] ?? '');
        for (const n of [5, 20, 21, 22, 23]) if (el(seg, n) !== '') c.remarks.push(el(seg, n));
        break;
      case 'MOA':
        c.outpatient = seg.elements.map((e) => e[0] ?? '');
        for (const n of [3, 4, 5, 6, 7]) if (el(seg, n) !== '') c.remarks.push(el(seg, n));
        break;
      case 'REF':
        c.references.push({ qualifier: el(seg, 1), value: el(seg, 2) });
        break;
      case 'DTM': {
        const d = { qualifier: el(seg, 1), date: date(seg, 2) };
        c.dates.push(d);
        if (d.qualifier === '232') c.statementFrom = d.date;
        else if (d.qualifier === '233') c.statementTo = d.date;
        break;
      }
      case 'PER':
        c.contacts.push(contact(seg));
        break;
      case 'AMT': {
        const a = { qualifier: el(seg, 1), amount: money(seg, 2) };
        c.amounts.push(a);
        if (a.qualifier === 'I') c.interest = a.amount;
        break;
      }
      default: {
        const q = quantity(seg, 2);
        c.quantities.push({ qualifier: el(seg, 1), quantity: q ?? '' });
        break;
      }
    }
  }

  private beginService(seg: X12Segment, h: Transaction835Header): void {
    const c = this.claim as ClaimPayment835;
    const billed = composite(seg, 1, h.warnings);
    if (billed.qualifier === '' || billed.code === '') throw new X12ElementError('SVC01 procedure (qualifier and code) missing', segmentAt(seg, 1));
    const original = el(seg, 6) === '' ? undefined : { ...composite(seg, 6, h.warnings), units: quantity(seg, 7) };
    const s: ServicePayment835 = {
      position: seg.position, qualifier: billed.qualifier, code: billed.code, modifiers: billed.modifiers, description: billed.description, charge: money(seg, 2), paid: money(seg, 3),
      revenueCode: opt(el(seg, 4)), units: quantity(seg, 5) ?? '1', original, adjustments: [], remarks: [], pharmacyRejects: [], references: [], dates: [], amounts: [], quantities: [],
      imbalanceCents: 0,
    };
    c.services.push(s);
    this.service = s;
    this.state = 'service';
  }

  private serviceSegment(s: ServicePayment835, seg: X12Segment, h: Transaction835Header): void {
    switch (seg.id) {
      case 'CAS':
        s.adjustments.push(...adjustments(seg, h.warnings));
        break;
      case 'DTM': {
        const d = { qualifier: el(seg, 1), date: date(seg, 2) };
        s.dates.push(d);
        if (d.qualifier === '472' || d.qualifier === '150') s.serviceDate = d.date;
        if (d.qualifier === '151') s.serviceEndDate = d.date;
        break;
      }
      case 'REF':
        s.references.push({ qualifier: el(seg, 1), value: el(seg, 2) });
        if (el(seg, 1) === '6R') s.lineControlNumber = el(seg, 2);
        break;
      case 'AMT': {
        const a = { qualifier: el(seg, 1), amount: money(seg, 2) };
        s.amounts.push(a);
        if (a.qualifier === 'B6') s.allowed = a.amount;
        break;
      }
      default:
        s.quantities.push({ qualifier: el(seg, 1), quantity: quantity(seg, 2) ?? '' });
        break;
    }
  }

  /** Closes the claim in progress: balances computed, event emitted. */
  private endClaim(out: Remit835Event[]): void {
    const c = this.claim;
    if (!c) return;
    this.claim = undefined;
    this.service = undefined;
    let adjusted = 0;
    let pr = 0;
    for (const a of c.adjustments) {
      adjusted = addCents(adjusted, cents(a.amount));
      if (a.group === 'PR') pr = addCents(pr, cents(a.amount));
    }
    for (const s of c.services) {
      let lineAdjusted = 0;
      for (const a of s.adjustments) {
        lineAdjusted = addCents(lineAdjusted, cents(a.amount));
        if (a.group === 'PR') pr = addCents(pr, cents(a.amount));
      }
      s.imbalanceCents = cents(s.charge) - lineAdjusted - cents(s.paid);
      adjusted = addCents(adjusted, lineAdjusted);
    }
    c.imbalanceCents = cents(c.charge) - adjusted - cents(c.paid);
    c.patientResponsibilityDifferenceCents = c.status === '22' || c.patientResponsibility === undefined ? 0 : cents(c.patientResponsibility) - pr;
    this.claims++;
    this.paidCents = addCents(this.paidCents, cents(c.paid));
    if (c.interest !== undefined) this.interestCents = addCents(this.interestCents, cents(c.interest));
    out.push({ kind: 'claim', header: this.header as Transaction835Header, claim: c });
  }

  private providerAdjustments(seg: X12Segment): void {
    const providerId = required(seg, 1, 'PLB01 provider identifier');
    const fiscalPeriodDate = date(seg, 2);
    for (let n = 3; n <= 13; n += 2) {
      const reason = el(seg, n, 1);
      if (reason === '') {
        if (el(seg, n + 1) !== '') throw new X12ReadError('a provider adjustment amount without its reason code', segmentAt(seg, n));
        continue;
      }
      this.plb.push({ position: seg.position, providerId, fiscalPeriodDate, reason, reference: opt(el(seg, n, 2)), amount: money(seg, n + 1) });
    }
  }

  private trailer(): Transaction835Trailer {
    const h = this.header as Transaction835Header;
    let plb = 0;
    let l6 = 0;
    for (const p of this.plb) {
      plb = addCents(plb, cents(p.amount));
      if (p.reason === 'L6') l6 = addCents(l6, cents(p.amount));
    }
    const bpr = cents(h.payment.amount) * (h.payment.creditDebit === 'D' ? -1 : 1);
    return {
      header: h, providerAdjustments: this.plb, claims: this.claims, unreadable: this.unreadable, paidCents: this.paidCents, providerAdjustmentCents: plb,
      imbalanceCents: this.paidCents - plb - bpr, interestCents: this.interestCents, interestPlbCents: l6,
    };
  }
}

/**
 * Reads an 835 file as a stream of events. The whole file is checked as it goes (envelopes and the
 * 835's own order); an error names the segment position and element. A caller that must be all
 * or nothing (posting) keeps what it did undoable until the generator returns. Events come in
 * batches (those completed by one piece of input), so that the cost of awaiting is paid per piece.
 */
export async function* read835Batches(input: AsyncIterable<Buffer | string> | Iterable<Buffer | string>): AsyncGenerator<Remit835Event[]> {
  const envelopes = new EnvelopeTracker();
  const reader = new Remittance835Reader();
  let transactions = 0;
  for await (const segments of streamX12Batches(input)) {
    const out: Remit835Event[] = [];
    for (const seg of segments) {
      envelopes.accept(seg);
      for (const e of reader.accept(seg)) {
        if (e.kind === 'end') transactions++;
        out.push(e);
      }
    }
    if (out.length > 0) yield out;
  }
  envelopes.finish();
  if (transactions === 0) throw new X12ReadError('the file holds no 835 transaction set', 'ST');
}

/** The events of read835Batches one at a time. */
export async function* read835(input: AsyncIterable<Buffer | string> | Iterable<Buffer | string>): AsyncGenerator<Remit835Event> {
  for await (const batch of read835Batches(input)) yield* batch;
}
