import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { Claim837, ClaimType } from '../../lib/x12';
import type { ClaimDraft, ClaimProblem, EncounterBundle, PracticeView } from './claim-builder';

/**
 * Claims a build may update in place: not yet in a batch, or rejected (by the clearinghouse's 999
 * or the payer's 277CA: fixed and sent again as a new original, frequency 1, same claim number).
 */
export const UNSUBMITTED = ['draft', 'held', 'ready', 'rejected', 'payer_rejected'] as const;
/** Without an explicit request for the encounter, rejected claims wait for someone to fix them. */
export const NOT_IN_A_BATCH = ['draft', 'held', 'ready'] as const;
export const statusesToRebuild = (explicit: boolean): readonly string[] => (explicit ? UNSUBMITTED : NOT_IN_A_BATCH);

export type ClaimStatus =
  | 'draft' | 'ready' | 'held' | 'batched' | 'submitted' | 'accepted' | 'rejected' | 'payer_accepted' | 'payer_rejected'
  | 'paid' | 'partially_paid' | 'denied' | 'reversed' | 'forwarded' | 'replaced' | 'cancelled';

export interface SavedClaim {
  id: string;
  status: ClaimStatus;
  created: boolean;
}

export interface ClaimListItem {
  id: string;
  patientControlNumber: string;
  status: ClaimStatus;
  claimType: ClaimType;
  payerId: string | null;
  totalCharge: string;
  serviceDateFrom: string;
  serviceDateTo: string;
}

/** Every query of claim building and claim reading. */
@Injectable()
export class ClaimsRepository {
  constructor(private readonly dataSource: DataSource) {}

  transaction<T>(fn: (em: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(fn);
  }

  /**
   * Encounters with charges to bill (or credits to review), oldest first. With `settledMinutes`
   * (the job), only those discharged or without a new charge for that long.
   */
  async candidateEncounters(encounterIds: string[] | undefined, limit: number, settledMinutes?: number): Promise<string[]> {
    const rows = await this.dataSource.query<{ id: string }[]>(
      // Unbilled charges (a partial index) and the charges of claims still to rebuild (by claim
      // status): never a read of every charge posted.
      `WITH cand AS (
         SELECT c.encounter_id FROM charge c
          WHERE c.claim_id IS NULL AND c.status IN ('posted', 'unmatched_credit') AND ($1::bigint[] IS NULL OR c.encounter_id = ANY($1::bigint[]))
         UNION
         SELECT k.encounter_id FROM claim k
          WHERE k.status = ANY($3::text[]) AND ($1::bigint[] IS NULL OR k.encounter_id = ANY($1::bigint[]))
            AND EXISTS (SELECT 1 FROM charge c WHERE c.claim_id = k.id AND c.encounter_id = k.encounter_id AND c.status IN ('posted', 'unmatched_credit'))
       )
       -- Each candidate's encounter by its key (OFFSET 0: not a merge join along every encounter
       -- ever registered, judging each one settled or not: the soak's job slowed by the minute).
       SELECT e.id FROM (SELECT DISTINCT encounter_id FROM cand) AS k
        CROSS JOIN LATERAL (
          SELECT e.id FROM encounter e
           WHERE e.id = k.encounter_id AND e.status <> 'cancelled'
             AND ($4::int IS NULL OR e.status = 'discharged'
                  OR (SELECT max(created_at) FROM charge WHERE encounter_id = e.id) < now() - make_interval(mins => $4::int))
          OFFSET 0) AS e
        ORDER BY 1 LIMIT $2`,
      [encounterIds ?? null, limit, statusesToRebuild(encounterIds !== undefined), settledMinutes ?? null],
    );
    return rows.map((r) => r.id);
  }

  /** The practice setup as claim building reads it; inside a transaction pass its manager (the embedded database serves one connection at a time). */
  async practiceView(em?: EntityManager): Promise<PracticeView> {
    const db = em ?? this.dataSource;
    // One after another: a transaction's connection runs one query at a time.
    const [payers, facilities, providers, cm] = [
      await db.query<{ id: string; payer_id: string; name: string; claim_filing_indicator: string; hl7_ids: string[]; address: PracticeView['payers'][number]['address'] }[]>(
        `SELECT id, payer_id, name, claim_filing_indicator, hl7_ids, address FROM practice_payer ORDER BY id`,
      ),
      await db.query<{ id: string; key: string; hl7_codes: string[]; claim_type: ClaimType; place_of_service: string | null; type_of_bill: string | null; inpatient_type_of_bill: string | null; billing_provider_id: string; service_facility: PracticeView['facilities'][number]['serviceFacility']; is_default: boolean }[]>(
        `SELECT id, key, hl7_codes, claim_type, place_of_service, type_of_bill, inpatient_type_of_bill, billing_provider_id, service_facility, is_default FROM practice_facility ORDER BY id`,
      ),
      await db.query<{ id: string; kind: 'person' | 'organization'; name: string; first_name: string | null; npi: string; tax_id: string; tax_id_type: 'EI' | 'SY'; taxonomy: string | null; address: never; pay_to_address: never }[]>(
        `SELECT id, kind, name, first_name, npi, tax_id, tax_id_type, taxonomy, address, pay_to_address FROM practice_billing_provider`,
      ),
      await db.query<{ transaction_code: string; revenue_code: string }[]>(`SELECT transaction_code, revenue_code FROM chargemaster_item WHERE revenue_code IS NOT NULL`),
    ];
    return {
      payers: payers.map((p) => ({ id: p.id, payerId: p.payer_id, name: p.name, claimFilingIndicator: p.claim_filing_indicator, hl7Ids: p.hl7_ids, address: p.address })),
      facilities: facilities.map((f) => ({
        id: f.id, key: f.key, hl7Codes: f.hl7_codes, claimType: f.claim_type, placeOfService: f.place_of_service, typeOfBill: f.type_of_bill,
        inpatientTypeOfBill: f.inpatient_type_of_bill, billingProviderId: f.billing_provider_id, serviceFacility: f.service_facility, isDefault: f.is_default,
      })),
      billingProviders: new Map(providers.map((p) => [p.id, {
        kind: p.kind, name: p.name, firstName: p.first_name, npi: p.npi, taxId: p.tax_id, taxIdType: p.tax_id_type, taxonomy: p.taxonomy, address: p.address, payToAddress: p.pay_to_address,
      }])),
      revenueCodes: new Map(cm.map((c) => [c.transaction_code, c.revenue_code])),
    };
  }

  /**
   * Everything one encounter's claims are built from, with the encounter row locked: two
   * builders (instances, or the job and an API call) never build the same encounter at once.
   */
  async bundle(em: EntityManager, encounterId: string, rebuild: readonly string[], onlyClaim?: string): Promise<EncounterBundle | undefined> {
    return (await this.bundles(em, [encounterId], rebuild, { onlyClaim })).get(encounterId);
  }

  /**
   * bundle() for many encounters, a query for all of them at each step. `skipLocked` (the job):
   * an encounter another transaction holds (another builder, or intake updating it this moment)
   * is left for the next run instead of waited for, so a build holding many encounters never
   * waits on intake while intake waits on one of them.
   */
  async bundles(em: EntityManager, encounterIds: readonly string[], rebuild: readonly string[], opts: { onlyClaim?: string; skipLocked?: boolean } = {}): Promise<Map<string, EncounterBundle>> {
    const q = <T>(sql: string, params: unknown[]): Promise<T[]> => em.query<T[]>(sql, params);
    const out = new Map<string, EncounterBundle>();
    // The encounters are locked FOR NO KEY UPDATE (in id order): builders exclude each other, but
    // the foreign-key checks of other writers (KEY SHARE: a batch marking an encounter's claim,
    // intake adding a charge) do not wait for the build. With FOR UPDATE a batch holding the claim
    // deadlocked with a build waiting for it (found by the soak). Then the claims this build may
    // rewrite are locked before anything is read: a batch taking one of them (SKIP LOCKED) passes
    // it by, and one a batch took first is waited for and then no longer counts as rewritable, so
    // its charges are not billed again and the batched claim is not turned back to ready (the
    // soak found 4 claims in two files before this lock).
    const encounters = await q<{
      id: string; patient_id: string; visit_number: string | null; status: string; patient_class: string | null; facility: string | null; admit_at: string | null;
      discharge_at: string | null; admit_type: string | null; admit_source: string | null; discharge_disposition: string | null;
      attending_provider: EncounterBundle['encounter']['attendingProvider']; referring_provider: EncounterBundle['encounter']['referringProvider'];
    }>(
      `SELECT id::text, patient_id::text, visit_number, status, patient_class, facility, to_char(admit_at, 'YYYY-MM-DD"T"HH24:MI:SS') AS admit_at,
              to_char(discharge_at, 'YYYY-MM-DD"T"HH24:MI:SS') AS discharge_at, admit_type, admit_source, discharge_disposition, attending_provider, referring_provider
         FROM encounter WHERE id = ANY($1::bigint[]) ORDER BY id FOR NO KEY UPDATE${opts.skipLocked === true ? ' SKIP LOCKED' : ''}`,
      [encounterIds],
    );
    if (encounters.length === 0) return out;
    const ids = encounters.map((e) => e.id);
    if (rebuild.length > 0) await q(`SELECT id FROM claim WHERE encounter_id = ANY($1::bigint[]) AND status = ANY($2::text[]) ORDER BY id FOR UPDATE`, [ids, rebuild]);
    const patients = await q<{ id: string; family_name: string | null; given_name: string | null; middle_name: string | null; name_suffix: string | null; birth_date: string | null; sex: string | null; address: EncounterBundle['patient']['address'] }>(
      `SELECT id::text, family_name, given_name, middle_name, name_suffix, to_char(birth_date, 'YYYY-MM-DD') AS birth_date, sex, address FROM patient WHERE id = ANY($1::bigint[])`,
      [[...new Set(encounters.map((e) => e.patient_id))]],
    );
    // Each encounter's own coverages (IN1 in its messages), else its patient's person-level ones.
    const coverages = await q<{ encounter_id: string; id: string; set_id: number; payer_id: string | null; plan_id: string | null; payer_name: string | null; member_id: string | null; group_number: string | null; group_name: string | null; insured_name: EncounterBundle['coverages'][number]['insuredName']; insured_relationship: string | null; insured_birth_date: string | null; insured_address: EncounterBundle['coverages'][number]['insuredAddress'] }>(
      `WITH e AS (SELECT * FROM unnest($1::bigint[], $2::bigint[]) AS e(id, patient_id))
       SELECT e.id::text AS encounter_id, cv.id::text, cv.set_id, cv.payer_id, cv.plan_id, cv.payer_name, cv.member_id, cv.group_number, cv.group_name, cv.insured_name, cv.insured_relationship,
              to_char(cv.insured_birth_date, 'YYYY-MM-DD') AS insured_birth_date, cv.insured_address
         FROM e JOIN coverage cv ON cv.encounter_id = e.id
       UNION ALL
       SELECT e.id::text, cv.id::text, cv.set_id, cv.payer_id, cv.plan_id, cv.payer_name, cv.member_id, cv.group_number, cv.group_name, cv.insured_name, cv.insured_relationship,
              to_char(cv.insured_birth_date, 'YYYY-MM-DD'), cv.insured_address
         FROM e JOIN coverage cv ON cv.patient_id = e.patient_id AND cv.encounter_id IS NULL
        WHERE NOT EXISTS (SELECT 1 FROM coverage x WHERE x.encounter_id = e.id)
        ORDER BY 1, 3`,
      [ids, encounters.map((e) => e.patient_id)],
    );
    const diagnoses = await q<{ encounter_id: string; code: string; coding_system: string; priority: number | null; set_id: number | null }>(
      `SELECT encounter_id::text, code, coding_system, priority, set_id FROM diagnosis WHERE encounter_id = ANY($1::bigint[]) ORDER BY encounter_id, priority NULLS LAST, set_id NULLS LAST, id`,
      [ids],
    );
    const procedures = await q<{ encounter_id: string; code: string; coding_system: string; procedure_at: string | null; surgeon: EncounterBundle['procedures'][number]['surgeon'] }>(
      `SELECT encounter_id::text, code, coding_system, to_char(procedure_at, 'YYYY-MM-DD"T"HH24:MI:SS') AS procedure_at, surgeon FROM procedure WHERE encounter_id = ANY($1::bigint[]) ORDER BY encounter_id, set_id NULLS LAST, id`,
      [ids],
    );
    const charges = await q<{ encounter_id: string; id: string; ft1_index: number; transaction_id: string | null; transaction_code: string | null; service_date: string; service_end_date: string | null; procedure_code: string | null; modifiers: string[]; quantity: string; amount: string | null; diagnosis_codes: string[] | null; ndc: string | null; performing_provider: EncounterBundle['charges'][number]['performingProvider']; status: string }>(
      `SELECT c.encounter_id::text, c.id::text, c.ft1_index, c.transaction_id, c.transaction_code, to_char(c.service_date, 'YYYY-MM-DD') AS service_date, to_char(c.service_end_date, 'YYYY-MM-DD') AS service_end_date,
              c.procedure_code, c.modifiers, c.quantity::text, c.amount::text, c.diagnosis_codes, c.ndc, c.performing_provider, c.status
         FROM charge c
        WHERE c.encounter_id = ANY($1::bigint[]) AND c.status IN ('posted', 'unmatched_credit')
          AND CASE WHEN $3::bigint IS NOT NULL THEN c.claim_id = $3
                   ELSE c.claim_id IS NULL OR c.claim_id IN (SELECT id FROM claim WHERE encounter_id = ANY($1::bigint[]) AND status = ANY($2::text[])) END
        ORDER BY c.encounter_id, c.id`,
      [ids, rebuild, opts.onlyClaim ?? null],
    );
    const patientOf = new Map(patients.map((p) => [p.id, p]));
    const byEncounter = <T extends { encounter_id: string }>(rows: T[]): Map<string, T[]> => {
      const m = new Map<string, T[]>();
      for (const r of rows) {
        let list = m.get(r.encounter_id);
        if (list === undefined) m.set(r.encounter_id, (list = []));
        list.push(r);
      }
      return m;
    };
    const [coveragesOf, diagnosesOf, proceduresOf, chargesOf] = [byEncounter(coverages), byEncounter(diagnoses), byEncounter(procedures), byEncounter(charges)];
    for (const e of encounters) {
      const p = patientOf.get(e.patient_id);
      out.set(e.id, {
        encounter: {
          id: e.id, visitNumber: e.visit_number, status: e.status, patientClass: e.patient_class, facility: e.facility, admitAt: e.admit_at, dischargeAt: e.discharge_at,
          admitType: e.admit_type, admitSource: e.admit_source, dischargeDisposition: e.discharge_disposition, attendingProvider: e.attending_provider, referringProvider: e.referring_provider,
        },
        patient: {
          id: e.patient_id, familyName: p?.family_name ?? null, givenName: p?.given_name ?? null, middleName: p?.middle_name ?? null,
          nameSuffix: p?.name_suffix ?? null, birthDate: p?.birth_date ?? null, sex: p?.sex ?? null, address: p?.address ?? null,
        },
        coverages: (coveragesOf.get(e.id) ?? []).map((c) => ({
          id: c.id, setId: c.set_id, payerId: c.payer_id, planId: c.plan_id, payerName: c.payer_name, memberId: c.member_id, groupNumber: c.group_number, groupName: c.group_name,
          insuredName: c.insured_name, insuredRelationship: c.insured_relationship, insuredBirthDate: c.insured_birth_date, insuredAddress: c.insured_address,
        })),
        diagnoses: (diagnosesOf.get(e.id) ?? []).map((d) => ({ code: d.code, codingSystem: d.coding_system, priority: d.priority, setId: d.set_id })),
        procedures: (proceduresOf.get(e.id) ?? []).map((x) => ({ code: x.code, codingSystem: x.coding_system, procedureAt: x.procedure_at, surgeon: x.surgeon })),
        charges: (chargesOf.get(e.id) ?? []).map((c) => ({
          id: c.id, ft1Index: c.ft1_index, transactionId: c.transaction_id, transactionCode: c.transaction_code, serviceDate: c.service_date, serviceEndDate: c.service_end_date,
          procedureCode: c.procedure_code, modifiers: c.modifiers, quantity: c.quantity, amount: c.amount, diagnosisCodes: c.diagnosis_codes ?? [], ndc: c.ndc,
          performingProvider: c.performing_provider, status: c.status,
        })),
      });
    }
    return out;
  }

  /**
   * Stores encounters' drafts in the caller's transaction, a statement for all of them at each
   * step. Unsubmitted claims of an encounter with the same payer, billing provider, type and part
   * are updated in place (same id and patient control number, history kept); new ones are created,
   * numbered in the order given (encounters, then their drafts); unsubmitted claims no draft
   * matches are cancelled. Charges point at their claim. Returns each encounter's saved claims,
   * in the order given.
   */
  async saveDraftsMany(em: EntityManager, items: readonly { encounterId: string; patientId: string; drafts: readonly ClaimDraft[] }[], actor: string, rebuild: readonly string[]): Promise<SavedClaim[][]> {
    const q = <T>(sql: string, params: unknown[]): Promise<T[]> => em.query<T[]>(sql, params);
    if (items.length === 0) return [];
    type Existing = { id: string; encounter_id: string; patient_control_number: string; status: ClaimStatus; claim_type: string; payer_id: string | null; billing_provider_id: string | null; part: number; frequency: '1' | '7' | '8'; payer_claim_control_number: string | null };
    const existingRows = await q<Existing>(
      `SELECT id::text, encounter_id::text, patient_control_number, status, claim_type, payer_id::text, billing_provider_id::text, part, frequency, payer_claim_control_number FROM claim
        WHERE encounter_id = ANY($1::bigint[]) AND status = ANY($2::text[]) AND payer_sequence = 'P' ORDER BY id`,
      [items.map((i) => i.encounterId), rebuild],
    );
    if (existingRows.length > 0) await q(`UPDATE charge SET claim_id = NULL WHERE claim_id = ANY($1::bigint[])`, [existingRows.map((x) => x.id)]);
    // Which existing claim each draft updates (none: a new claim).
    const used = new Set<string>();
    const plan = items.map((item) => {
      const existing = existingRows.filter((x) => x.encounter_id === item.encounterId);
      const drafts = item.drafts.map((d) => {
        const match = existing.find((x) => !used.has(x.id) && x.claim_type === d.claimType && x.payer_id === d.payerRowId && x.billing_provider_id === d.billingProviderRowId && x.part === d.part);
        if (match) used.add(match.id);
        return { d, match };
      });
      return { item, drafts, unmatched: existing.filter((x) => !used.has(x.id)) };
    });
    const newIds = await this.newClaimIds(em, plan.reduce((n, p) => n + p.drafts.filter((x) => !x.match).length, 0));
    const lineIds = await this.newLineIds(em, plan.reduce((n, p) => n + p.drafts.reduce((m, x) => m + x.d.claim.lines.length, 0), 0));
    const matched = plan.flatMap((p) => p.drafts.flatMap((x) => (x.match ? [x.match.id] : [])));
    if (matched.length > 0) await q(`DELETE FROM claim_line WHERE claim_id = ANY($1::bigint[])`, [matched]);

    const updates: Record<string, unknown>[] = [];
    const inserts: Record<string, unknown>[] = [];
    const lines: LineRow[] = [];
    const events: EventRow[] = [];
    const pointed: { charges: string[]; claimId: string }[] = [];
    const saved: SavedClaim[][] = [];
    let nextNew = 0;
    let nextLine = 0;
    for (const { item, drafts, unmatched } of plan) {
      const mine: SavedClaim[] = [];
      for (const { d, match } of drafts) {
        const status: ClaimStatus = d.problems.length > 0 ? 'held' : 'ready';
        const { id, pcn } = match ? { id: match.id, pcn: match.patient_control_number } : (newIds[nextNew++] as { id: string; pcn: string });
        const resent = match !== undefined && (match.status === 'rejected' || match.status === 'payer_rejected');
        // A correction (7) keeps its frequency and the payer's claim number when rebuilt; a rejected
        // claim goes out again as a new original.
        const frequency = match && !resent ? match.frequency : '1';
        const claim: Claim837 = {
          ...d.claim, patientControlNumber: pcn, frequency,
          payerClaimControlNumber: frequency === '1' ? undefined : (match?.payer_claim_control_number ?? undefined),
          // REF*6R: the line's id, unique across all claims (payers echo it on the 835, loop 2110).
          lines: d.claim.lines.map((l) => ({ ...l, controlNumber: lineIds[nextLine++] as string })),
        };
        const row = {
          id, coverage_id: d.coverageId, payer_id: d.payerRowId, billing_provider_id: d.billingProviderRowId, facility_id: d.facilityRowId, status, total_charge: d.totalCharge,
          service_from: d.serviceFrom, service_to: d.serviceTo, payload: claim, problems: d.problems,
        };
        if (match) {
          updates.push({ ...row, resent });
          if (match.status !== status) {
            const reason = status === 'held' ? problemSummary(d.problems) : resent ? 'rebuilt after the rejection: to be sent again as a new original (frequency 1)' : 'rebuilt: every required element present';
            events.push({ claimId: id, from: match.status, to: status, reason });
          }
        } else {
          inserts.push({ ...row, patient_control_number: pcn, encounter_id: item.encounterId, patient_id: item.patientId, claim_type: d.claimType, part: d.part });
          events.push({ claimId: id, from: null, to: status, reason: status === 'held' ? problemSummary(d.problems) : 'built' });
        }
        lines.push(...lineRows(id, claim, d.lineCharges));
        pointed.push({ charges: d.lineCharges.flat(), claimId: id });
        mine.push({ id, status, created: !match });
      }
      for (const x of unmatched) events.push({ claimId: x.id, from: x.status, to: 'cancelled', reason: 'rebuilt: no charges left to bill on this claim' });
      saved.push(mine);
    }
    if (updates.length > 0) {
      await q(
        `UPDATE claim c SET coverage_id = u.coverage_id, payer_id = u.payer_id, billing_provider_id = u.billing_provider_id, facility_id = u.facility_id, status = u.status,
                total_charge = u.total_charge, service_from = u.service_from, service_to = u.service_to, payload = u.payload, problems = u.problems, updated_at = now(), version = c.version + 1,
                batch_id = CASE WHEN u.resent THEN NULL ELSE c.batch_id END, transaction_control_number = CASE WHEN u.resent THEN NULL ELSE c.transaction_control_number END,
                submission = c.submission + CASE WHEN u.resent THEN 1 ELSE 0 END
           FROM jsonb_to_recordset($1::jsonb) AS u(id bigint, coverage_id bigint, payer_id bigint, billing_provider_id bigint, facility_id bigint, status text, total_charge numeric,
                                                   service_from date, service_to date, payload jsonb, problems jsonb, resent boolean)
          WHERE c.id = u.id`,
        [JSON.stringify(updates)],
      );
    }
    if (inserts.length > 0) {
      await q(
        `INSERT INTO claim (id, patient_control_number, encounter_id, patient_id, coverage_id, payer_id, billing_provider_id, facility_id, claim_type, part, status,
                            total_charge, service_from, service_to, payload, problems)
         SELECT id, patient_control_number, encounter_id, patient_id, coverage_id, payer_id, billing_provider_id, facility_id, claim_type, part, status,
                total_charge, service_from, service_to, payload, problems
           FROM jsonb_to_recordset($1::jsonb) AS n(id bigint, patient_control_number text, encounter_id bigint, patient_id bigint, coverage_id bigint, payer_id bigint, billing_provider_id bigint,
                                                  facility_id bigint, claim_type text, part int, status text, total_charge numeric, service_from date, service_to date, payload jsonb, problems jsonb)`,
        [JSON.stringify(inserts)],
      );
    }
    const cancelled = plan.flatMap((p) => p.unmatched.map((x) => x.id));
    if (cancelled.length > 0) await q(`UPDATE claim SET status = 'cancelled', updated_at = now() WHERE id = ANY($1::bigint[])`, [cancelled]);
    await this.events(em, events, actor);
    await this.insertLineRows(em, lines);
    await this.pointCharges(em, pointed);
    return saved;
  }

  /** A new claim id and its patient control number (CLM01: at most 17 characters, echoed by payers on the 835 as CLP01). */
  private async newClaimId(em: EntityManager): Promise<{ id: string; pcn: string }> {
    return (await this.newClaimIds(em, 1))[0] as { id: string; pcn: string };
  }

  /** n new claim ids, ascending. */
  private async newClaimIds(em: EntityManager, n: number): Promise<{ id: string; pcn: string }[]> {
    if (n === 0) return [];
    const rows = await em.query<{ id: string }[]>(`SELECT nextval('claim_id_seq')::text AS id FROM generate_series(1, $1::int)`, [n]);
    return rows.map((r) => r.id).sort(byNumber).map((id) => ({ id, pcn: `HC${id}` }));
  }

  /** Ids for n new lines, ascending; a line's id is its REF*6R control number, unique across all claims (echoed on the 835, loop 2110). */
  private async newLineIds(em: EntityManager, n: number): Promise<string[]> {
    if (n === 0) return [];
    return (await em.query<{ id: string }[]>(`SELECT nextval('claim_line_id_seq')::text AS id FROM generate_series(1, $1::int)`, [n])).map((r) => r.id).sort(byNumber);
  }

  /** A claim's lines; its charges point at it unless it bills them again to the next payer (`pointCharges` false). */
  private async insertLines(em: EntityManager, claimId: string, claim: Claim837, lineCharges: string[][], pointCharges = true): Promise<void> {
    await this.insertLineRows(em, lineRows(claimId, claim, lineCharges));
    if (pointCharges) await this.pointCharges(em, [{ charges: lineCharges.flat(), claimId }]);
  }

  private async insertLineRows(em: EntityManager, rows: readonly LineRow[]): Promise<void> {
    if (rows.length === 0) return;
    await em.query(
      `INSERT INTO claim_line (id, claim_id, line_number, control_number, charge_ids, procedure_code, modifiers, revenue_code, quantity, charge_amount, service_date,
                               service_end_date, diagnosis_pointers, ndc)
       SELECT id, claim_id, line_number, id::text, charge_ids, procedure_code, modifiers, revenue_code, quantity, charge_amount, service_date, service_end_date, diagnosis_pointers, ndc
         FROM jsonb_to_recordset($1::jsonb) AS l(id bigint, claim_id bigint, line_number int, charge_ids bigint[], procedure_code text, modifiers text[], revenue_code text, quantity numeric,
                                                charge_amount numeric, service_date date, service_end_date date, diagnosis_pointers int[], ndc text)`,
      [JSON.stringify(rows)],
    );
  }

  /** Charges point at the claim that bills them. */
  private async pointCharges(em: EntityManager, pointed: readonly { charges: readonly string[]; claimId: string }[]): Promise<void> {
    const charges = pointed.flatMap((p) => p.charges);
    if (charges.length === 0) return;
    await em.query(
      `UPDATE charge SET claim_id = x.claim_id FROM unnest($1::bigint[], $2::bigint[]) AS x(id, claim_id) WHERE charge.id = x.id`,
      [charges, pointed.flatMap((p) => p.charges.map(() => p.claimId))],
    );
  }

  /**
   * Claims just paid (or matched) that may need a claim to the next payer, or have one: a primary
   * or secondary claim whose encounter has a further coverage, or that another claim follows.
   */
  async followCandidates(em: EntityManager, claimIds: string[]): Promise<FollowSource[]> {
    const rows = await em.query<FollowSource[]>(
      `SELECT c.id, c.status, c.payer_sequence AS "payerSequence", c.encounter_id AS "encounterId", c.patient_id AS "patientId", c.claim_type AS "claimType", c.part,
              c.billing_provider_id AS "billingProviderId", c.facility_id AS "facilityId", c.primary_claim_id AS "primaryClaimId", c.payload,
              (SELECT array_agg(charge_ids::text[] ORDER BY line_number) FROM claim_line WHERE claim_id = c.id) AS "lineCharges",
              (SELECT array_agg(id::text ORDER BY line_number) FROM claim_line WHERE claim_id = c.id) AS "lineIds",
              f.id AS "followingId", f.status AS "followingStatus"
         FROM claim c
         LEFT JOIN LATERAL (SELECT id, status FROM claim s WHERE s.primary_claim_id = c.id AND s.status NOT IN ('cancelled', 'replaced') ORDER BY s.id DESC LIMIT 1) f ON true
        WHERE c.id = ANY($1::bigint[]) AND c.payer_sequence IN ('P', 'S')
          AND (f.id IS NOT NULL OR COALESCE(NULLIF((SELECT count(*) FROM coverage cv WHERE cv.encounter_id = c.encounter_id), 0),
                                            (SELECT count(*) FROM coverage cv WHERE cv.patient_id = c.patient_id AND cv.encounter_id IS NULL))
                                   > CASE c.payer_sequence WHEN 'P' THEN 1 ELSE 2 END)
        ORDER BY c.id`,
      [claimIds],
    );
    return rows;
  }

  /** A claim's payload and lines, for the claim that follows it (a tertiary reads its primary's). */
  async followSource(em: EntityManager, claimId: string): Promise<Pick<FollowSource, 'id' | 'payload' | 'lineIds' | 'payerSequence'> | undefined> {
    const [row] = await em.query<Pick<FollowSource, 'id' | 'payload' | 'lineIds' | 'payerSequence'>[]>(
      `SELECT id, payload, payer_sequence AS "payerSequence", (SELECT array_agg(id::text ORDER BY line_number) FROM claim_line WHERE claim_id = claim.id) AS "lineIds" FROM claim WHERE id = $1`,
      [claimId],
    );
    return row;
  }

  /**
   * Saves the claim to the next payer: a new claim following `source`, or its unbatched following
   * claim updated in place (same id and patient control number, a new version). The charges stay
   * with the claim they were first billed on.
   */
  async saveFollowing(
    em: EntityManager, source: FollowSource, d: { claim: Claim837; problems: ClaimProblem[]; totalCharge: string; serviceFrom: string; serviceTo: string; coverageId: string | null; payerRowId: string | null },
    sequence: 'S' | 'T', reason: string, actor: string,
  ): Promise<SavedClaim> {
    const q = <T>(sql: string, params: unknown[]): Promise<T[]> => em.query<T[]>(sql, params);
    const status: ClaimStatus = d.problems.length > 0 ? 'held' : 'ready';
    const existing = source.followingId !== null && (UNSUBMITTED as readonly string[]).includes(source.followingStatus ?? '') ? source.followingId : undefined;
    let id: string;
    let pcn: string;
    if (existing !== undefined) {
      id = existing;
      [{ pcn }] = await q<{ pcn: string }>(`SELECT patient_control_number AS pcn FROM claim WHERE id = $1 FOR UPDATE`, [id]) as [{ pcn: string }];
      await q(`DELETE FROM claim_line WHERE claim_id = $1`, [id]);
    } else {
      ({ id, pcn } = await this.newClaimId(em));
    }
    const lineIds = await this.newLineIds(em, d.claim.lines.length);
    const claim: Claim837 = { ...d.claim, patientControlNumber: pcn, lines: d.claim.lines.map((l, i) => ({ ...l, controlNumber: lineIds[i] as string })) };
    if (existing !== undefined) {
      const resent = source.followingStatus === 'rejected' || source.followingStatus === 'payer_rejected';
      await q(
        `UPDATE claim SET coverage_id = $2, payer_id = $3, status = $4, total_charge = $5, service_from = $6, service_to = $7, payload = $8, problems = $9, updated_at = now(), version = version + 1,
                batch_id = CASE WHEN $10 THEN NULL ELSE batch_id END, transaction_control_number = CASE WHEN $10 THEN NULL ELSE transaction_control_number END,
                submission = submission + CASE WHEN $10 THEN 1 ELSE 0 END
          WHERE id = $1`,
        [id, d.coverageId, d.payerRowId, status, d.totalCharge, d.serviceFrom, d.serviceTo, JSON.stringify(claim), JSON.stringify(d.problems), resent],
      );
      await this.event(em, id, source.followingStatus, status, status === 'held' ? `${reason}; ${problemSummary(d.problems)}` : reason, actor);
    } else {
      await q(
        `INSERT INTO claim (id, patient_control_number, encounter_id, patient_id, coverage_id, payer_id, billing_provider_id, facility_id, claim_type, part, status,
                            total_charge, service_from, service_to, payload, problems, payer_sequence, primary_claim_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
        [id, pcn, source.encounterId, source.patientId, d.coverageId, d.payerRowId, source.billingProviderId, source.facilityId, source.claimType, source.part, status, d.totalCharge,
          d.serviceFrom, d.serviceTo, JSON.stringify(claim), JSON.stringify(d.problems), sequence, source.id],
      );
      await this.event(em, id, null, status, status === 'held' ? `${reason}; ${problemSummary(d.problems)}` : reason, actor);
    }
    await this.insertLines(em, id, claim, source.lineCharges, false);
    return { id, status, created: existing === undefined };
  }

  /** Holds (or cancels) the unbatched claim that follows a claim whose payment was reversed (or that needs none any more). */
  async stopFollowing(em: EntityManager, source: FollowSource, to: 'held' | 'cancelled', why: string, actor: string): Promise<boolean> {
    if (source.followingId === null || !(NOT_IN_A_BATCH as readonly string[]).includes(source.followingStatus ?? '') || source.followingStatus === to) return false;
    const problems: ClaimProblem[] = to === 'held' ? [{ field: 'previous payer 835', loop: '2320', message: why }] : [];
    await em.query(`UPDATE claim SET status = $2, problems = $3, updated_at = now() WHERE id = $1`, [source.followingId, to, JSON.stringify(problems)]);
    await this.event(em, source.followingId, source.followingStatus, to, why, actor);
    return true;
  }

  /** The claim to correct or void, locked; refused unless the payer has it and its claim number is known. */
  async lockForCorrection(em: EntityManager, claimId: string): Promise<CorrectionSource> {
    const [o] = await em.query<CorrectionSource[]>(
      `SELECT id, encounter_id AS "encounterId", patient_id AS "patientId", coverage_id AS "coverageId", payer_id AS "payerId", billing_provider_id AS "billingProviderId",
              facility_id AS "facilityId", claim_type AS "claimType", part, status, payer_claim_control_number AS "payerClaimControlNumber", payload, payer_sequence AS "payerSequence",
              total_charge::text AS "totalCharge", to_char(service_from, 'YYYY-MM-DD') AS "serviceFrom", to_char(service_to, 'YYYY-MM-DD') AS "serviceTo",
              (SELECT array_agg(charge_ids::text[] ORDER BY line_number) FROM claim_line WHERE claim_id = claim.id) AS "lineCharges"
         FROM claim WHERE id = $1 FOR UPDATE`,
      [claimId],
    );
    if (!o) throw new CorrectionError('not_found', `claim ${claimId} does not exist`);
    if (!['submitted', 'accepted', 'payer_accepted', 'paid', 'partially_paid', 'denied'].includes(o.status)) {
      throw new CorrectionError('conflict', `claim ${claimId} is ${o.status}: only a claim the payer has (submitted, accepted, or adjudicated on an 835) can be corrected or voided`);
    }
    if (o.payerSequence !== 'P') {
      throw new CorrectionError('conflict', `claim ${claimId} is a ${o.payerSequence === 'S' ? 'secondary' : 'tertiary'} claim: it is rebuilt from its earlier payer's 835 (post a corrected 835 for that payer), not corrected on its own`);
    }
    if (o.payerClaimControlNumber === null) throw new CorrectionError('conflict', `claim ${claimId} has no payer claim number yet (REF*1K of a 277CA): a correction or void must carry it in REF*F8`);
    return o;
  }

  /** A replacement (7) or void (8) of `o`: a new claim carrying the payer's claim number; `o` becomes replaced. */
  async saveCorrection(em: EntityManager, o: CorrectionSource, d: Pick<ClaimDraft, 'claim' | 'lineCharges' | 'problems' | 'totalCharge' | 'serviceFrom' | 'serviceTo'>, frequency: '7' | '8', actor: string): Promise<SavedClaim> {
    const q = <T>(sql: string, params: unknown[]): Promise<T[]> => em.query<T[]>(sql, params);
    const { id, pcn } = await this.newClaimId(em);
    const lineIds = await this.newLineIds(em, d.claim.lines.length);
    const claim: Claim837 = {
      ...d.claim, patientControlNumber: pcn, frequency, payerClaimControlNumber: o.payerClaimControlNumber ?? undefined,
      lines: d.claim.lines.map((l, i) => ({ ...l, controlNumber: lineIds[i] as string })),
    };
    const status: ClaimStatus = d.problems.length > 0 ? 'held' : 'ready';
    await q(
      `INSERT INTO claim (id, patient_control_number, encounter_id, patient_id, coverage_id, payer_id, billing_provider_id, facility_id, claim_type, part, status, frequency,
                          replaces_claim_id, payer_claim_control_number, total_charge, service_from, service_to, payload, problems)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`,
      [id, pcn, o.encounterId, o.patientId, o.coverageId, o.payerId, o.billingProviderId, o.facilityId, o.claimType, o.part, status, frequency, o.id, o.payerClaimControlNumber,
        d.totalCharge, d.serviceFrom, d.serviceTo, JSON.stringify(claim), JSON.stringify(d.problems)],
    );
    await this.insertLines(em, id, claim, d.lineCharges);
    const what = frequency === '7' ? 'replacement (frequency 7)' : 'void (frequency 8)';
    await q(`UPDATE claim SET status = 'replaced', updated_at = now() WHERE id = $1`, [o.id]);
    await this.event(em, o.id, o.status, 'replaced', `${what} sent as claim ${id} (${pcn})`, actor);
    await this.event(em, id, null, status, `${what} of claim ${o.id}, REF*F8 ${o.payerClaimControlNumber ?? ''}${status === 'held' ? `; ${problemSummary(d.problems)}` : ''}`, actor);
    return { id, status, created: true };
  }

  async event(em: EntityManager, claimId: string, from: ClaimStatus | null, to: ClaimStatus, reason: string, actor: string): Promise<void> {
    await this.events(em, [{ claimId, from, to, reason }], actor);
  }

  /** Claim events, in the order given. */
  async events(em: EntityManager, events: readonly EventRow[], actor: string): Promise<void> {
    if (events.length === 0) return;
    await em.query(
      `INSERT INTO claim_event (claim_id, from_status, to_status, reason, actor)
       SELECT x.claim_id, x.from_status, x.to_status, x.reason, $5 FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS x(claim_id, from_status, to_status, reason, n) ORDER BY x.n`,
      [events.map((e) => e.claimId), events.map((e) => e.from), events.map((e) => e.to), events.map((e) => e.reason), actor],
    );
  }

  async list(f: { status?: string; payerId?: string; limit: number; offset: number }): Promise<{ items: ClaimListItem[]; total: number }> {
    const where = `($1::text IS NULL OR c.status = $1) AND ($2::text IS NULL OR p.payer_id = $2)`;
    const [items, total] = await Promise.all([
      this.dataSource.query<{ id: string; patient_control_number: string; status: ClaimStatus; claim_type: ClaimType; payer_id: string | null; total_charge: string; service_from: string; service_to: string }[]>(
        `SELECT c.id, c.patient_control_number, c.status, c.claim_type, p.payer_id, c.total_charge::text, to_char(c.service_from, 'YYYY-MM-DD') AS service_from,
                to_char(c.service_to, 'YYYY-MM-DD') AS service_to
           FROM claim c LEFT JOIN practice_payer p ON p.id = c.payer_id WHERE ${where} ORDER BY c.id DESC LIMIT $3 OFFSET $4`,
        [f.status ?? null, f.payerId ?? null, f.limit, f.offset],
      ),
      this.dataSource.query<{ n: string }[]>(`SELECT count(*)::text AS n FROM claim c LEFT JOIN practice_payer p ON p.id = c.payer_id WHERE ${where}`, [f.status ?? null, f.payerId ?? null]),
    ]);
    return {
      items: items.map((c) => ({
        id: c.id, patientControlNumber: c.patient_control_number, status: c.status, claimType: c.claim_type, payerId: c.payer_id, totalCharge: c.total_charge,
        serviceDateFrom: c.service_from, serviceDateTo: c.service_to,
      })),
      total: Number(total[0]?.n ?? 0),
    };
  }

  async get(id: string): Promise<ClaimDetail | undefined> {
    const [c] = await this.dataSource.query<{ id: string; patient_control_number: string; status: ClaimStatus; claim_type: ClaimType; part: number; frequency: string; encounter_id: string; payer_id: string | null; payer_name: string | null; total_charge: string; service_from: string; service_to: string; payload: Claim837; problems: ClaimProblem[]; batch_id: string | null; payer_claim_control_number: string | null; replaces_claim_id: string | null }[]>(
      `SELECT c.id, c.patient_control_number, c.status, c.claim_type, c.part, c.frequency, c.encounter_id, p.payer_id, p.name AS payer_name, c.total_charge::text,
              to_char(c.service_from, 'YYYY-MM-DD') AS service_from, to_char(c.service_to, 'YYYY-MM-DD') AS service_to, c.payload, c.problems, c.batch_id,
              c.payer_claim_control_number, c.replaces_claim_id
         FROM claim c LEFT JOIN practice_payer p ON p.id = c.payer_id WHERE c.id = $1`,
      [id],
    );
    if (!c) return undefined;
    const lines = await this.dataSource.query<{ id: string; line_number: number; control_number: string; procedure_code: string | null; modifiers: string[]; revenue_code: string | null; quantity: string; charge_amount: string; service_date: string; diagnosis_pointers: number[]; ndc: string | null; charge_ids: string[] }[]>(
      `SELECT id, line_number, control_number, procedure_code, modifiers, revenue_code, quantity::text, charge_amount::text, to_char(service_date, 'YYYY-MM-DD') AS service_date,
              diagnosis_pointers, ndc, charge_ids::text[] AS charge_ids
         FROM claim_line WHERE claim_id = $1 ORDER BY line_number`,
      [id],
    );
    const history = await this.dataSource.query<{ at: Date; from_status: string | null; to_status: string; reason: string | null; actor: string }[]>(
      `SELECT at, from_status, to_status, reason, actor FROM claim_event WHERE claim_id = $1 ORDER BY id`,
      [id],
    );
    return {
      id: c.id, patientControlNumber: c.patient_control_number, status: c.status, claimType: c.claim_type, part: c.part, frequency: c.frequency, encounterId: c.encounter_id,
      payerId: c.payer_id, payerName: c.payer_name, totalCharge: c.total_charge, serviceDateFrom: c.service_from, serviceDateTo: c.service_to,
      payerClaimControlNumber: c.payer_claim_control_number, replacesClaimId: c.replaces_claim_id,
      diagnoses: c.payload.diagnoses, problems: c.problems, batchId: c.batch_id,
      lines: lines.map((l) => ({
        id: l.id, lineNumber: l.line_number, controlNumber: l.control_number, procedureCode: l.procedure_code, modifiers: l.modifiers, revenueCode: l.revenue_code, quantity: l.quantity,
        charge: l.charge_amount, serviceDate: l.service_date, diagnosisPointers: l.diagnosis_pointers, ndc: l.ndc, chargeIds: l.charge_ids,
      })),
      history: history.map((h) => ({ at: h.at.toISOString(), from: h.from_status, to: h.to_status, reason: h.reason, actor: h.actor })),
    };
  }
}

/** A claim that may be followed by a claim to the next payer, with the one following it, if any. */
export interface FollowSource {
  id: string;
  status: ClaimStatus;
  payerSequence: 'P' | 'S' | 'T';
  encounterId: string;
  patientId: string;
  claimType: ClaimType;
  part: number;
  billingProviderId: string | null;
  facilityId: string | null;
  primaryClaimId: string | null;
  payload: Claim837;
  lineCharges: string[][];
  lineIds: string[];
  followingId: string | null;
  followingStatus: ClaimStatus | null;
}

export interface CorrectionSource {
  id: string;
  encounterId: string;
  patientId: string;
  coverageId: string | null;
  payerId: string | null;
  billingProviderId: string | null;
  facilityId: string | null;
  claimType: ClaimType;
  part: number;
  status: ClaimStatus;
  payerClaimControlNumber: string | null;
  payload: Claim837;
  payerSequence: 'P' | 'S' | 'T';
  totalCharge: string;
  serviceFrom: string;
  serviceTo: string;
  lineCharges: string[][];
}

export class CorrectionError extends Error {
  constructor(
    readonly code: 'not_found' | 'conflict' | 'bad_request',
    message: string,
  ) {
    super(message);
  }
}

export interface ClaimDetail {
  id: string;
  patientControlNumber: string;
  status: ClaimStatus;
  claimType: ClaimType;
  part: number;
  frequency: string;
  encounterId: string;
  payerId: string | null;
  payerName: string | null;
  totalCharge: string;
  serviceDateFrom: string;
  serviceDateTo: string;
  payerClaimControlNumber: string | null;
  replacesClaimId: string | null;
  diagnoses: string[];
  problems: ClaimProblem[];
  batchId: string | null;
  lines: { id: string; lineNumber: number; controlNumber: string; procedureCode: string | null; modifiers: string[]; revenueCode: string | null; quantity: string; charge: string; serviceDate: string; diagnosisPointers: number[]; ndc: string | null; chargeIds: string[] }[];
  history: { at: string; from: string | null; to: string; reason: string | null; actor: string }[];
}

interface EventRow {
  claimId: string;
  from: ClaimStatus | null;
  to: ClaimStatus;
  reason: string;
}

interface LineRow {
  id: string;
  claim_id: string;
  line_number: number;
  charge_ids: string[];
  procedure_code: string | null;
  modifiers: string[];
  revenue_code: string | null;
  quantity: string;
  charge_amount: string;
  service_date: string;
  service_end_date: string | null;
  diagnosis_pointers: number[];
  ndc: string | null;
}

/** A claim's lines as rows (a line's id is its control number). */
function lineRows(claimId: string, claim: Claim837, lineCharges: string[][]): LineRow[] {
  return claim.lines.map((l, i) => ({
    id: l.controlNumber, claim_id: claimId, line_number: i + 1, charge_ids: lineCharges[i] ?? [], procedure_code: l.procedureCode ?? null, modifiers: l.modifiers, revenue_code: l.revenueCode ?? null,
    quantity: l.quantity, charge_amount: l.charge, service_date: l.serviceDate, service_end_date: l.serviceEndDate ?? null, diagnosis_pointers: l.diagnosisPointers, ndc: l.drug?.ndc ?? null,
  }));
}

const byNumber = (a: string, b: string): number => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0);

function problemSummary(problems: ClaimProblem[]): string {
  const first = problems.slice(0, 3).map((p) => `${p.field} (${p.loop}): ${p.message}`);
  return `held: ${first.join('; ')}${problems.length > 3 ? `; and ${problems.length - 3} more` : ''}`;
}
