import { fromCents, toCents } from '../../lib/decimal';

/**
 * The work queue's filters as they travel in a URL (`?status=new&category=coding&sort=amount`),
 * parsed leniently: a value that is not understood is dropped (and reported), never an error page.
 * The same object drives the list page, its CSV export, bulk actions and saved views, so that
 * what a person sees, exports and changes is one set.
 */
export const WORK_STATUSES = ['new', 'in_progress', 'pending', 'appealed', 'resubmitted', 'written_off', 'resolved'] as const;
export type WorkStatus = (typeof WORK_STATUSES)[number];
export const OPEN_STATUSES: readonly WorkStatus[] = ['new', 'in_progress', 'pending', 'appealed', 'resubmitted'];
export const CLOSED_STATUSES: readonly WorkStatus[] = ['written_off', 'resolved'];

export const CATEGORIES = [
  'registration_eligibility', 'coding', 'authorization', 'medical_necessity', 'timely_filing', 'duplicate', 'coordination_of_benefits', 'bundling', 'pricing',
  'missing_information', 'other', 'uncategorised',
] as const;
export type Category = (typeof CATEGORIES)[number];

export const CATEGORY_WORDS: Record<Category, string> = {
  registration_eligibility: 'Registration / eligibility',
  coding: 'Coding',
  authorization: 'Authorization',
  medical_necessity: 'Medical necessity',
  timely_filing: 'Timely filing',
  duplicate: 'Duplicate',
  coordination_of_benefits: 'Coordination of benefits',
  bundling: 'Bundling',
  pricing: 'Pricing',
  missing_information: 'Missing information',
  other: 'Other',
  uncategorised: 'Uncategorised',
};

export const STATUS_WORDS: Record<WorkStatus, string> = {
  new: 'New', in_progress: 'In progress', pending: 'Pending', appealed: 'Appealed', resubmitted: 'Resubmitted', written_off: 'Written off', resolved: 'Resolved',
};

export const KINDS = ['denial', 'rejection', 'held', 'no_response', 'unmatched'] as const;
export type WorkKind = (typeof KINDS)[number];
export const KIND_WORDS: Record<WorkKind, string> = {
  denial: '835 denial', rejection: 'Rejection (999/277CA)', held: 'Held claim', no_response: 'No response', unmatched: 'Unmatched 835 payment',
};

export const AGE_BUCKETS = ['0-30', '31-60', '61-90', '91-120', '120+'] as const;
export type AgeBucket = (typeof AGE_BUCKETS)[number];
export const DUE_BUCKETS = ['overdue', 'today', 'week', 'later'] as const;
export type DueBucket = (typeof DUE_BUCKETS)[number];
export const DUE_WORDS: Record<DueBucket, string> = { overdue: 'Overdue', today: 'Due today', week: 'Due this week', later: 'Later' };
export const SORTS = ['deadline', 'amount', 'age', 'priority'] as const;
export type Sort = (typeof SORTS)[number];

export interface WorkFilter {
  /** Statuses; empty = every open status. `closed` and `all` are spelt as the lists. */
  status: WorkStatus[];
  category: Category[];
  kind: WorkKind[];
  payer?: string;
  carc?: string;
  rarc?: string;
  /** `mine+unassigned` (default), `mine`, `unassigned`, `any`, or a user id. */
  owner: string;
  age?: AgeBucket;
  due?: DueBucket;
  amountMin?: string;
  amountMax?: string;
  provider?: string;
  dosFrom?: string;
  dosTo?: string;
  claim?: string;
  sort: Sort;
  dir: 'asc' | 'desc';
  page: number;
}

export const DEFAULT_FILTER: WorkFilter = { status: [], category: [], kind: [], owner: 'mine+unassigned', sort: 'deadline', dir: 'asc', page: 1 };

type Query = Record<string, unknown>;

function list(q: Query, key: string): string[] {
  const v = q[key];
  const all = Array.isArray(v) ? v : v === undefined ? [] : [v];
  return all.filter((x): x is string => typeof x === 'string').flatMap((x) => x.split(',')).map((x) => x.trim()).filter((x) => x !== '');
}

function one(q: Query, key: string): string | undefined {
  return list(q, key)[0];
}

const MONEY = /^\d{1,10}(\.\d{1,2})?$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Parses a query; `ignored` names what was not understood. */
export function parseWorkFilter(q: Query): { filter: WorkFilter; ignored: string[] } {
  const ignored: string[] = [];
  const pick = <T extends string>(key: string, allowed: readonly T[]): T[] => {
    const out: T[] = [];
    for (const v of list(q, key)) {
      if ((allowed as readonly string[]).includes(v)) out.push(v as T);
      else ignored.push(`${key}=${v}`);
    }
    return [...new Set(out)];
  };
  const statusWords = list(q, 'status');
  let status: WorkStatus[];
  if (statusWords.includes('all')) status = [...WORK_STATUSES];
  else if (statusWords.includes('closed')) status = [...CLOSED_STATUSES];
  else if (statusWords.includes('open')) status = [];
  else status = pick('status', WORK_STATUSES);
  const f: WorkFilter = { ...DEFAULT_FILTER, status, category: pick('category', CATEGORIES), kind: pick('kind', KINDS) };
  const text = (key: string, re: RegExp, transform: (s: string) => string = (s) => s): string | undefined => {
    const v = one(q, key);
    if (v === undefined) return undefined;
    const t = transform(v);
    if (re.test(t)) return t;
    ignored.push(`${key}=${v}`);
    return undefined;
  };
  f.payer = text('payer', /^[A-Za-z0-9 ._-]{1,80}$/);
  f.carc = text('carc', /^[A-Z0-9]{1,3}$/, (s) => s.toUpperCase());
  f.rarc = text('rarc', /^[A-Z0-9]{2,6}$/, (s) => s.toUpperCase());
  const owner = one(q, 'owner');
  if (owner !== undefined) {
    if (['mine+unassigned', 'mine', 'unassigned', 'any'].includes(owner) || /^\d{1,18}$/.test(owner)) f.owner = owner;
    else ignored.push(`owner=${owner}`);
  }
  f.age = pick('age', AGE_BUCKETS)[0];
  f.due = pick('due', DUE_BUCKETS)[0];
  f.amountMin = text('amountMin', MONEY);
  f.amountMax = text('amountMax', MONEY);
  f.provider = text('provider', /^\d{1,18}$/);
  f.dosFrom = text('dosFrom', DATE);
  f.dosTo = text('dosTo', DATE);
  f.claim = text('claim', /^[A-Za-z0-9-]{1,20}$/);
  f.sort = pick('sort', SORTS)[0] ?? 'deadline';
  const dir = one(q, 'dir');
  // Deadline: soonest first; amount, age (days open) and priority: largest first.
  f.dir = dir === 'desc' || dir === 'asc' ? dir : f.sort === 'deadline' ? 'asc' : 'desc';
  const page = Number.parseInt(one(q, 'page') ?? '1', 10);
  f.page = Number.isInteger(page) && page >= 1 && page <= 100_000 ? page : 1;
  return { filter: f, ignored };
}

/** The filter as query parameters (only what differs from the default), for links, exports and saved views. */
export function workFilterParams(f: WorkFilter, overrides: Partial<WorkFilter> = {}): Record<string, string | string[] | undefined> {
  const g = { ...f, ...overrides };
  const defaultDir = g.sort === 'deadline' ? 'asc' : 'desc';
  return {
    status: g.status.length === 0 ? undefined : g.status.length === WORK_STATUSES.length ? 'all' : g.status,
    category: g.category, kind: g.kind, payer: g.payer, carc: g.carc, rarc: g.rarc,
    owner: g.owner === 'mine+unassigned' ? undefined : g.owner,
    age: g.age, due: g.due, amountMin: g.amountMin, amountMax: g.amountMax, provider: g.provider, dosFrom: g.dosFrom, dosTo: g.dosTo, claim: g.claim,
    sort: g.sort === 'deadline' ? undefined : g.sort,
    dir: g.dir === defaultDir ? undefined : g.dir,
    page: g.page === 1 ? undefined : String(g.page),
  };
}

/** Days until a deadline, in words people read at a glance (never colour alone). */
export function deadlineWords(daysLeft: number): string {
  if (daysLeft < 0) return `Overdue by ${-daysLeft} day${daysLeft === -1 ? '' : 's'}`;
  if (daysLeft === 0) return 'Due today';
  if (daysLeft === 1) return 'Due tomorrow';
  return `${daysLeft} days left`;
}

/**
 * An item's priority, explained: amount at stake x recoverability (of its category) x urgency
 * (of its deadline), in exact cents. The queries sort by the same formula in SQL.
 */
export function urgency(daysLeft: number): { factor: string; why: string } {
  if (daysLeft <= 7) return { factor: '1.5', why: daysLeft < 0 ? 'overdue' : `deadline in ${daysLeft} day${daysLeft === 1 ? '' : 's'}` };
  if (daysLeft <= 30) return { factor: '1.2', why: `deadline in ${daysLeft} days` };
  if (daysLeft <= 90) return { factor: '1.0', why: `deadline in ${daysLeft} days` };
  return { factor: '0.8', why: `deadline in ${daysLeft} days` };
}

export const URGENCY_SQL = `(CASE WHEN w.deadline - current_date <= 7 THEN 1.5 WHEN w.deadline - current_date <= 30 THEN 1.2 WHEN w.deadline - current_date <= 90 THEN 1.0 ELSE 0.8 END)`;
export const PRIORITY_SQL = `round(w.amount * w.recoverability * ${URGENCY_SQL}, 2)`;

/** amount (decimal string) x recoverability (0.00-1.00) x urgency factor, rounded half up to cents. */
export function priority(amount: string, recoverability: string, daysLeft: number): { value: string; explanation: string } {
  const u = urgency(daysLeft);
  const cents = toCents(amount);
  // Recoverability (0.00-1.00) and the urgency factor (0.8-1.5) in hundredths, as cents are.
  const rec = toCents(recoverability);
  const urg = toCents(u.factor);
  if (cents === undefined || rec === undefined || urg === undefined) throw new Error(`not amounts: ${amount}, ${recoverability}`);
  // cents x rec/100 x urg/100, to cents: divide by 10,000 rounding half away from zero (in BigInt: no product is ever inexact).
  const raw = BigInt(cents) * BigInt(rec) * BigInt(urg);
  const sign = raw < 0n ? -1n : 1n;
  const rounded = (((raw * sign) + 5000n) / 10000n) * sign;
  const value = fromCents(Number(rounded));
  return { value, explanation: `${amount} at stake × ${recoverability} recoverable × ${u.factor} (${u.why}) = ${value}` };
}
