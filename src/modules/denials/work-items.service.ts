import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { IntervalJob } from '../../common/interval-job';
import { logger } from '../../common/logger';
import type { AppConfig } from '../../config/config';
import { APP_CONFIG, PROCESS_ROLE, type ProcessRole } from '../../config/config.module';
import { AuditService, type Actor } from '../staff/audit.service';
import { compareDecimal, normalizeDecimal } from '../../lib/decimal';
import { ClaimsService } from '../claims/claims.service';
import { CorrectionError } from '../claims/claims.repository';
import type { Role } from '../staff/staff.service';
import { pdfDocument } from '../../lib/pdf';
import { appealLetter } from './appeal-letter';
import { QueueSetupRepository } from './queue-setup.repository';
import { CATEGORIES, CLOSED_STATUSES, type Category, type WorkStatus } from './work-filter';
import { WorkItemsQueries } from './work-items.queries';

/** Statuses a person sets directly (written_off comes with the write-off's adjustment). */
export const SETTABLE_STATUSES = ['new', 'in_progress', 'pending', 'appealed', 'resubmitted', 'resolved'] as const;
export type SettableStatus = (typeof SETTABLE_STATUSES)[number];

export class WorkItemError extends Error {
  constructor(
    readonly code: 'not_found' | 'changed' | 'invalid',
    message: string,
  ) {
    super(message);
    this.name = 'WorkItemError';
  }
}

export interface ActionResult {
  changed: string[];
  unchanged: string[];
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * What people do with work items: assign, take and release; set a status (pending needs a
 * follow-up date); add notes; set the category by hand. Each action, on one item or many, is one
 * transaction with its item events and its audit row. A single-item action can carry the version
 * the person saw: if the item changed meanwhile, nothing is done and they are told.
 */
@Injectable()
export class WorkItemsService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = logger('work');
  private readonly sweeper = new IntervalJob('work_sweep', this.log, () => this.sweep());

  constructor(
    private readonly ds: DataSource,
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(PROCESS_ROLE) private readonly role: ProcessRole,
    private readonly claims: ClaimsService,
    private readonly queries: WorkItemsQueries,
    private readonly setup: QueueSetupRepository,
  ) {}

  /** The service sweeps for unanswered claims every WORK_SWEEP_MINUTES (each instance tries; one sweeps at a time). */
  onApplicationBootstrap(): void {
    if (this.role === 'service') this.sweeper.start(this.config.WORK_SWEEP_MINUTES * 60_000);
  }

  async onModuleDestroy(): Promise<void> {
    await this.sweeper.stop();
  }

  private static ids(ids: string[]): string[] {
    const out = [...new Set(ids.filter((i) => /^\d{1,18}$/.test(i)))];
    if (out.length === 0) throw new WorkItemError('invalid', 'no work item selected');
    if (out.length > 5000) throw new WorkItemError('invalid', 'at most 5,000 items at once');
    return out;
  }

  /** Locks the items (in id order, so that two bulk actions cannot deadlock) and checks the version of a single one. */
  private async lock(m: EntityManager, ids: string[], version?: number): Promise<{ id: string; status: WorkStatus; owner_id: string | null; version: number; follow_up_on: string | null }[]> {
    const rows = await m.query<{ id: string; status: WorkStatus; owner_id: string | null; version: number; follow_up_on: string | null }[]>(
      `SELECT id::text AS id, status, owner_id::text AS owner_id, version, to_char(follow_up_on, 'YYYY-MM-DD') AS follow_up_on FROM work_item WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE`,
      [ids],
    );
    if (rows.length !== ids.length) throw new WorkItemError('not_found', `no work item ${ids.filter((i) => !rows.some((r) => r.id === i)).join(', ')}`);
    if (version !== undefined && ids.length === 1 && rows[0]?.version !== version) {
      throw new WorkItemError('changed', 'the item changed since you opened it (someone else worked it, or a payment arrived): reload it and try again');
    }
    return rows;
  }

  async assign(idsIn: string[], ownerId: string | null, actor: Actor, version?: number): Promise<ActionResult> {
    const ids = WorkItemsService.ids(idsIn);
    return this.ds.transaction(async (m) => {
      let ownerEmail: string | null = null;
      if (ownerId !== null) {
        const [u] = await m.query<{ email: string; role: string; disabled: boolean }[]>(`SELECT email, role, disabled_at IS NOT NULL AS disabled FROM staff_user WHERE id = $1`, [ownerId]);
        if (u === undefined || u.disabled) throw new WorkItemError('invalid', 'no such active account to assign to');
        if (u.role === 'viewer') throw new WorkItemError('invalid', `${u.email} is a viewer and cannot work items`);
        ownerEmail = u.email;
      }
      const rows = await this.lock(m, ids, version);
      const changed = rows.filter((r) => r.owner_id !== ownerId).map((r) => r.id);
      if (changed.length > 0) {
        await m.query(`UPDATE work_item SET owner_id = $2, updated_at = now(), version = version + 1 WHERE id = ANY($1::bigint[])`, [changed, ownerId]);
        await m.query(
          `INSERT INTO work_item_event (work_item_id, user_id, actor, action, detail) SELECT unnest($1::bigint[]), $2, $3, 'assigned', $4`,
          [changed, actor.userId, actor.name, JSON.stringify({ owner: ownerEmail, ownerId })],
        );
      }
      await this.audit.record(actor, { action: ownerId === null ? 'work.release' : ownerId === actor.userId ? 'work.take' : 'work.assign', objectType: 'work_item', objectId: ids.length === 1 ? ids[0] : undefined, detail: { items: ids, ownerId, changed: changed.length } }, m);
      return { changed, unchanged: ids.filter((i) => !changed.includes(i)) };
    });
  }

  async setStatus(idsIn: string[], status: string, opts: { followUpOn?: string; note?: string; actor: Actor; version?: number; today?: string }): Promise<ActionResult> {
    const ids = WorkItemsService.ids(idsIn);
    if (!(SETTABLE_STATUSES as readonly string[]).includes(status)) throw new WorkItemError('invalid', `status must be one of ${SETTABLE_STATUSES.join(', ')} (write-offs have their own action)`);
    const followUp = opts.followUpOn !== undefined && opts.followUpOn !== '' ? opts.followUpOn : undefined;
    if (status === 'pending') {
      if (followUp === undefined || !DATE.test(followUp) || Number.isNaN(Date.parse(followUp))) throw new WorkItemError('invalid', 'pending needs a follow-up date (YYYY-MM-DD)');
      if (followUp <= (opts.today ?? new Date().toISOString().slice(0, 10))) throw new WorkItemError('invalid', 'the follow-up date must be in the future');
    } else if (followUp !== undefined) {
      throw new WorkItemError('invalid', 'a follow-up date goes with the status pending');
    }
    const note = opts.note?.trim() === '' ? undefined : opts.note?.trim();
    if (note !== undefined && note.length > 4000) throw new WorkItemError('invalid', 'a note can have at most 4,000 characters');
    return this.ds.transaction(async (m) => {
      const rows = await this.lock(m, ids, opts.version);
      const changed = rows.filter((r) => r.status !== status || (status === 'pending' && r.follow_up_on !== followUp)).map((r) => r.id);
      if (changed.length > 0) {
        const closing = (CLOSED_STATUSES as readonly string[]).includes(status);
        await m.query(
          `WITH prev AS (SELECT id, status FROM work_item WHERE id = ANY($1::bigint[])),
                up AS (UPDATE work_item w SET status = $2, follow_up_on = $3::date, closed_at = CASE WHEN $4 THEN coalesce(w.closed_at, now()) END,
                              closed_reason = CASE WHEN $4 THEN $5 END, updated_at = now(), version = w.version + 1
                        WHERE w.id = ANY($1::bigint[]) RETURNING w.id)
           INSERT INTO work_item_event (work_item_id, user_id, actor, action, from_status, to_status, note, detail)
           SELECT prev.id, $6, $7, 'status', prev.status, $2, $8, $9 FROM prev JOIN up ON up.id = prev.id`,
          [changed, status, status === 'pending' ? followUp : null, closing, closing ? `set by ${opts.actor.name}` : null, opts.actor.userId, opts.actor.name, note ?? null, JSON.stringify(followUp !== undefined ? { followUpOn: followUp } : {})],
        );
      }
      const unchangedWithNote = note !== undefined ? ids.filter((i) => !changed.includes(i)) : [];
      if (unchangedWithNote.length > 0) {
        await m.query(`INSERT INTO work_item_event (work_item_id, user_id, actor, action, note) SELECT unnest($1::bigint[]), $2, $3, 'note', $4`, [unchangedWithNote, opts.actor.userId, opts.actor.name, note]);
      }
      await this.audit.record(opts.actor, { action: 'work.status', objectType: 'work_item', objectId: ids.length === 1 ? ids[0] : undefined, detail: { items: ids, status, followUpOn: followUp, changed: changed.length } }, m);
      return { changed, unchanged: ids.filter((i) => !changed.includes(i)) };
    });
  }

  async note(id: string, text: string, actor: Actor): Promise<void> {
    const note = text.trim();
    if (note === '') throw new WorkItemError('invalid', 'the note is empty');
    if (note.length > 4000) throw new WorkItemError('invalid', 'a note can have at most 4,000 characters');
    await this.ds.transaction(async (m) => {
      await this.lock(m, WorkItemsService.ids([id]));
      await m.query(`INSERT INTO work_item_event (work_item_id, user_id, actor, action, note) VALUES ($1, $2, $3, 'note', $4)`, [id, actor.userId, actor.name, note]);
      await m.query(`UPDATE work_item SET updated_at = now() WHERE id = $1`, [id]);
      await this.audit.record(actor, { action: 'work.note', objectType: 'work_item', objectId: id }, m);
    });
  }

  async setCategory(id: string, category: string, actor: Actor, version?: number): Promise<void> {
    if (!(CATEGORIES as readonly string[]).includes(category) || category === 'uncategorised') throw new WorkItemError('invalid', 'choose one of the categories');
    await this.ds.transaction(async (m) => {
      await this.lock(m, WorkItemsService.ids([id]), version);
      const [k] = await m.query<{ recoverability: string }[]>(
        `SELECT coalesce((SELECT recoverability FROM denial_category_rule WHERE category = $1 ORDER BY id LIMIT 1), 0.3)::text AS recoverability`,
        [category as Category],
      );
      await m.query(`UPDATE work_item SET category = $2, category_set_by = $3, category_rule_id = NULL, category_carc = NULL, recoverability = $4, updated_at = now(), version = version + 1 WHERE id = $1`, [
        id, category, actor.name, k?.recoverability ?? '0.3',
      ]);
      await m.query(`INSERT INTO work_item_event (work_item_id, user_id, actor, action, detail) VALUES ($1, $2, $3, 'category', $4)`, [id, actor.userId, actor.name, JSON.stringify({ category })]);
      await this.audit.record(actor, { action: 'work.category', objectType: 'work_item', objectId: id, detail: { category } }, m);
    });
  }

  /**
   * Writes off (part of) an item's amount: a write_off row with the reason (the claim's balance
   * counts it), the item closed as written_off, in one transaction. A biller may write off up to
   * WRITE_OFF_LIMIT_BILLER per item; an admin up to WRITE_OFF_LIMIT_ADMIN when set.
   */
  async writeOff(id: string, amountIn: string, reasonIn: string, actor: Actor & { role: Role }, version?: number): Promise<{ amount: string }> {
    const amount = normalizeDecimal(amountIn.trim(), 2);
    if (amount === undefined || !/^\d+\.\d{2}$/.test(amount) || compareDecimal(amount, '0') <= 0) throw new WorkItemError('invalid', 'the amount must be a positive amount with at most two decimals');
    const reason = reasonIn.trim();
    if (reason.length < 3 || reason.length > 500) throw new WorkItemError('invalid', 'a write-off needs a reason (3 to 500 characters)');
    const limit = actor.role === 'admin' ? this.config.WRITE_OFF_LIMIT_ADMIN : actor.role === 'biller' ? this.config.WRITE_OFF_LIMIT_BILLER : '0';
    if (limit !== undefined && compareDecimal(amount, limit) > 0) throw new WorkItemError('invalid', `${amount} is above the write-off limit of your role (${limit}): ask an admin`);
    return this.ds.transaction(async (m) => {
      const [row] = await this.lock(m, WorkItemsService.ids([id]), version);
      const [item] = await m.query<{ amount: string; claim_id: string | null; claim_line_id: string | null }[]>(`SELECT amount::text, claim_id::text, claim_line_id::text FROM work_item WHERE id = $1`, [id]);
      if (row === undefined || item === undefined) throw new WorkItemError('not_found', `no work item ${id}`);
      if ((CLOSED_STATUSES as readonly string[]).includes(row.status)) throw new WorkItemError('invalid', `the item is ${row.status.replace('_', ' ')} already`);
      if (compareDecimal(amount, item.amount) > 0) throw new WorkItemError('invalid', `${amount} is more than the item's amount at stake (${item.amount})`);
      await m.query(`INSERT INTO write_off (work_item_id, claim_id, claim_line_id, amount, reason, user_id, actor) VALUES ($1, $2, $3, $4, $5, $6, $7)`, [id, item.claim_id, item.claim_line_id, amount, reason, actor.userId, actor.name]);
      await m.query(`UPDATE work_item SET status = 'written_off', closed_at = now(), closed_reason = $2, follow_up_on = NULL, updated_at = now(), version = version + 1 WHERE id = $1`, [id, `written off ${amount} by ${actor.name}`]);
      await m.query(`INSERT INTO work_item_event (work_item_id, user_id, actor, action, from_status, to_status, note, detail) VALUES ($1, $2, $3, 'written_off', $4, 'written_off', $5, $6)`, [
        id, actor.userId, actor.name, row.status, reason, JSON.stringify({ amount }),
      ]);
      await this.audit.record(actor, { action: 'work.write_off', objectType: 'work_item', objectId: id, detail: { amount, claimId: item.claim_id } }, m);
      return { amount };
    });
  }

  /**
   * Correct and resubmit: a replacement claim (frequency 7, rebuilt from the encounter's current
   * data, REF*F8 with the payer's claim number) through the claims' corrections, and the item set
   * to resubmitted, in one transaction. The item closes when the payer answers the replacement.
   */
  async resubmit(id: string, actor: Actor, version?: number): Promise<{ claimId: string; status: string }> {
    const [item] = await this.ds.query<{ claim_id: string | null; kind: string; status: WorkStatus; version: number }[]>(`SELECT claim_id::text, kind, status, version FROM work_item WHERE id = $1`, [id]);
    if (item === undefined) throw new WorkItemError('not_found', `no work item ${id}`);
    if (item.claim_id === null) throw new WorkItemError('invalid', 'this item has no claim of ours to correct');
    if (version !== undefined && item.version !== version) throw new WorkItemError('changed', 'the item changed since you opened it (someone else worked it, or a payment arrived): reload it and try again');
    try {
      const claimId = item.claim_id;
      const corrected = await this.claims.correct(claimId, '7', actor.name, async (m, replacement) => {
        const rows = await this.lock(m, [id], version);
        const from = rows[0]?.status ?? item.status;
        await m.query(`UPDATE work_item SET status = 'resubmitted', follow_up_on = NULL, closed_at = NULL, closed_reason = NULL, updated_at = now(), version = version + 1 WHERE id = $1`, [id]);
        await m.query(`INSERT INTO work_item_event (work_item_id, user_id, actor, action, from_status, to_status, note) VALUES ($1, $2, $3, 'status', $4, 'resubmitted', $5)`, [
          id, actor.userId, actor.name, from, `replacement claim ${replacement.id} (frequency 7) made, ${replacement.status}`,
        ]);
        await this.audit.record(actor, { action: 'work.resubmit', objectType: 'work_item', objectId: id, detail: { claimId, replacementClaimId: replacement.id } }, m);
      });
      return { claimId: corrected.id, status: corrected.status };
    } catch (e) {
      if (e instanceof CorrectionError) throw new WorkItemError(e.code === 'not_found' ? 'not_found' : 'invalid', e.message);
      throw e;
    }
  }

  /**
   * An appeal: a letter (PDF) from the claim, the denial and the category's argument, with proof of
   * timely filing from our own records (the 837 file and its interchange control number, the 999
   * and 277CA acceptances); kept as generated, and the item set to appealed, in one transaction.
   */
  async appeal(id: string, actor: Actor, version?: number): Promise<{ letterId: string; bytes: number }> {
    const item = await this.queries.item(id);
    if (item === null) throw new WorkItemError('not_found', `no work item ${id}`);
    if (item.claimId === null) throw new WorkItemError('invalid', 'this item has no claim of ours to appeal');
    if (item.kind !== 'denial') throw new WorkItemError('invalid', 'only a payer\'s denial (835) can be appealed; a rejection or a held claim is corrected instead');
    const [f] = await this.ds.query<{ provider: string | null; npi: string | null; paddr: Record<string, string> | null; payer: string | null; payer_id: string | null; yaddr: Record<string, string> | null;
      patient: string | null; dob: string | null; member: string | null; icn: string | null; sent_on: string | null; batch_file: string | null; isa13: string | null; ack999: string | null; ack277: string | null; denied_on: string | null; today: string }[]>(
      `SELECT bp.name AS provider, bp.npi, bp.address AS paddr, py.name AS payer, py.payer_id, py.address AS yaddr,
              nullif(concat_ws(' ', pt.given_name, pt.middle_name, pt.family_name), '') AS patient, to_char(pt.birth_date, 'YYYY-MM-DD') AS dob, cv.member_id AS member,
              c.payer_claim_control_number AS icn,
              (SELECT to_char(min(e.at) AT TIME ZONE 'UTC', 'YYYY-MM-DD') FROM claim_event e WHERE e.claim_id = c.id AND e.to_status = 'submitted') AS sent_on,
              b.file_name AS batch_file, b.interchange_control_number::text AS isa13,
              (SELECT 'accepted on ' || to_char(r.at AT TIME ZONE 'UTC', 'YYYY-MM-DD') FROM claim_response r WHERE r.claim_id = c.id AND r.kind = '999' AND r.outcome = 'accepted' ORDER BY r.id LIMIT 1) AS ack999,
              (SELECT 'accepted on ' || to_char(r.at AT TIME ZONE 'UTC', 'YYYY-MM-DD') FROM claim_response r WHERE r.claim_id = c.id AND r.kind = '277CA' AND r.outcome = 'accepted' ORDER BY r.id LIMIT 1) AS ack277,
              (SELECT to_char(d.denied_on, 'YYYY-MM-DD') FROM denial d WHERE d.id = w.denial_id) AS denied_on, to_char(current_date, 'YYYY-MM-DD') AS today
         FROM work_item w JOIN claim c ON c.id = w.claim_id
         LEFT JOIN practice_billing_provider bp ON bp.id = c.billing_provider_id LEFT JOIN practice_payer py ON py.id = c.payer_id
         LEFT JOIN patient pt ON pt.id = c.patient_id LEFT JOIN coverage cv ON cv.id = c.coverage_id LEFT JOIN claim_batch b ON b.id = c.batch_id
        WHERE w.id = $1`,
      [id],
    );
    if (f === undefined) throw new WorkItemError('not_found', `no work item ${id}`);
    const address = (a: Record<string, string> | null): string[] => {
      if (a === null) return [];
      const street = [a.line1 ?? a.street ?? a.address1, a.line2 ?? a.address2].filter((x): x is string => typeof x === 'string' && x !== '');
      const city = [a.city, [a.state, a.zip ?? a.postalCode].filter((x) => typeof x === 'string' && x !== '').join(' ')].filter((x) => typeof x === 'string' && x !== '').join(', ');
      return [...street, ...(city !== '' ? [city] : [])];
    };
    const codes = await this.queries.describeCodes(item.carcs, item.rarcs);
    const template = await this.setup.template(item.category as Category);
    const pdf = pdfDocument(appealLetter({
      today: f.today,
      provider: { name: f.provider ?? 'the provider', npi: f.npi ?? '', address: address(f.paddr) },
      payer: { name: f.payer ?? item.payerName ?? 'the payer', payerId: f.payer_id ?? '', address: address(f.yaddr) },
      patient: { name: f.patient ?? item.patientName ?? '', birthDate: f.dob, memberId: f.member },
      claim: { patientControlNumber: item.patientControlNumber ?? '', payerClaimNumber: f.icn, serviceDate: item.serviceDate, billed: item.billed ?? '', line: item.lineNumber !== null ? `${item.lineNumber} (${item.procedureCode ?? ''})` : null },
      denial: { amount: item.amount, category: item.category as Category, carcs: codes.carcs.map((c) => ({ group: c.group, reason: c.reason, text: c.text })), rarcs: codes.rarcs, deniedOn: f.denied_on },
      filing: { sentOn: f.sent_on, batchFile: f.batch_file, interchangeControlNumber: f.isa13, ack999: f.ack999, ack277: f.ack277 },
      signer: actor.name,
    }, template), `Appeal of claim ${item.patientControlNumber ?? ''}`);
    return this.ds.transaction(async (m) => {
      const [row] = await this.lock(m, [id], version);
      const [letter] = await m.query<{ id: string }[]>(`INSERT INTO appeal_letter (work_item_id, claim_id, user_id, actor, pdf) VALUES ($1, $2, $3, $4, $5) RETURNING id::text AS id`, [id, item.claimId, actor.userId, actor.name, pdf]);
      await m.query(`UPDATE work_item SET status = 'appealed', follow_up_on = NULL, closed_at = NULL, closed_reason = NULL, updated_at = now(), version = version + 1 WHERE id = $1`, [id]);
      await m.query(`INSERT INTO work_item_event (work_item_id, user_id, actor, action, from_status, to_status, note, detail) VALUES ($1, $2, $3, 'status', $4, 'appealed', $5, $6)`, [
        id, actor.userId, actor.name, row?.status ?? null, `appeal letter ${letter?.id ?? ''} generated`, JSON.stringify({ letterId: letter?.id }),
      ]);
      await this.audit.record(actor, { action: 'work.appeal', objectType: 'work_item', objectId: id, detail: { letterId: letter?.id, claimId: item.claimId } }, m);
      return { letterId: letter?.id ?? '', bytes: pdf.length };
    });
  }

  async letter(itemId: string, letterId: string): Promise<Buffer | null> {
    if (!/^\d{1,18}$/.test(itemId) || !/^\d{1,18}$/.test(letterId)) return null;
    const [row] = await this.ds.query<{ pdf: Buffer }[]>(`SELECT pdf FROM appeal_letter WHERE id = $1 AND work_item_id = $2`, [letterId, itemId]);
    return row?.pdf ?? null;
  }

  /** Opens no-response items for claims sent and not answered within their payer's days. */
  async sweep(): Promise<number> {
    const n = await this.ds.transaction(async (m) => {
      // One sweep at a time across instances.
      const [lock] = await m.query<{ ok: boolean }[]>(`SELECT pg_try_advisory_xact_lock(hashtext('hl7c_work_sweep')) AS ok`);
      if (lock?.ok !== true) return 0;
      const [r] = await m.query<{ n: number }[]>(`SELECT hl7c_work_sweep_no_response() AS n`);
      return r?.n ?? 0;
    });
    if (n > 0) this.log.info({ event: 'work_sweep', opened: n });
    return n;
  }
}
