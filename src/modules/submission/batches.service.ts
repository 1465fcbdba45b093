import { createHash } from 'node:crypto';
import { Injectable, Optional } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { logger } from '../../common/logger';
import { ScrubberService } from '../scrubber/scrubber.service';
import { Batch837Writer, ccyymmdd, type Claim837, type ClaimType, type Submitter, type X12Delimiters } from '../../lib/x12';

/** Claims per transaction set (ST/SE); the TR3s recommend at most 5,000. */
export const CLAIMS_PER_TRANSACTION = 5000;
/** Claims read per page while a file is written: the batch is streamed, never held whole. */
const PAGE = 1000;
/** File parts stored as the file grows. */
const PART_BYTES = 1024 * 1024;

export interface BatchSummary {
  id: string;
  clearinghouse: string;
  claimType: ClaimType;
  claims: number;
  transactions: number;
  bytes: number;
  interchangeControlNumber: number;
  groupControlNumber: number;
  fileName: string;
  totalCharge: string;
}

/** Where ISA13, GS06 and ST02 come from: PostgreSQL sequences, or (golden-file tests) a fixed source. */
export type ControlNumberSource = (kind: 'interchange' | 'group' | 'transaction', count: number, em: EntityManager) => Promise<number[]>;

const SEQUENCES: Record<Parameters<ControlNumberSource>[0], string> = {
  interchange: 'x12_interchange_control_seq', group: 'x12_group_control_seq', transaction: 'x12_transaction_control_seq',
};
export const sequenceControlNumbers: ControlNumberSource = async (kind, count, em) =>
  (await em.query<{ n: string }[]>(`SELECT nextval('${SEQUENCES[kind]}')::text AS n FROM generate_series(1, $1::int)`, [count])).map((r) => Number(r.n));

interface ClearinghouseRow {
  id: string;
  key: string;
  receiver_id: string;
  name: string;
  isa_sender_qualifier: string;
  isa_sender_id: string;
  isa_receiver_qualifier: string;
  isa_receiver_id: string;
  gs_sender_code: string;
  gs_receiver_code: string;
  usage: 'T' | 'P';
  ack_requested: boolean;
  submitter: Submitter;
  delimiters: X12Delimiters;
}

/**
 * Batches: ready claims become one 837 interchange per clearinghouse and claim type (837P and
 * 837I never share a GS). Claims are taken with FOR UPDATE SKIP LOCKED, so instances creating
 * batches at once split the claims and none is in two batches; ISA13, GS06 and ST02 come from
 * PostgreSQL sequences. The file is written while claims are read page by page, and its exact
 * bytes are stored in parts in the same transaction that marks the claims batched.
 */
/**
 * Only claims scrubbed at their current version with no unresolved error go out (the scrubber
 * holds the others; this keeps a claim changed since its scrub out of a batch too).
 */
const SCRUBBED_CLEAN = `c.scrubbed_version = c.version
  AND NOT EXISTS (SELECT 1 FROM claim_finding f WHERE f.claim_id = c.id AND f.claim_version = c.version AND f.severity = 'error' AND f.override_id IS NULL)`;

@Injectable()
export class BatchesService {
  private readonly log = logger('batches');

  constructor(
    private readonly dataSource: DataSource,
    // Absent only where batches are made without the application (the batch benchmark's child).
    @Optional() private readonly scrubber?: ScrubberService,
  ) {}

  async create(opts: { actor: string; clearinghouse?: string; claimType?: ClaimType; now?: () => Date; controlNumbers?: ControlNumberSource }): Promise<BatchSummary[]> {
    // Claims built before the scrubber, or changed since their last scrub, are scrubbed first.
    await this.scrubber?.scrubStale(opts.actor);
    const groups = await this.dataSource.query<{ clearinghouse_id: string; claim_type: ClaimType }[]>(
      `SELECT DISTINCT p.clearinghouse_id, c.claim_type
         FROM claim c JOIN practice_payer p ON p.id = c.payer_id JOIN practice_clearinghouse h ON h.id = p.clearinghouse_id
        WHERE c.status = 'ready' AND ${SCRUBBED_CLEAN} AND ($1::text IS NULL OR h.key = $1) AND ($2::text IS NULL OR c.claim_type = $2)
        ORDER BY 1, 2`,
      [opts.clearinghouse ?? null, opts.claimType ?? null],
    );
    const out: BatchSummary[] = [];
    for (const g of groups) {
      const b = await this.dataSource.transaction((em) => this.createOne(em, g.clearinghouse_id, g.claim_type, opts.actor, (opts.now ?? (() => new Date()))(), opts.controlNumbers ?? sequenceControlNumbers));
      if (b) out.push(b);
    }
    return out;
  }

  private async createOne(em: EntityManager, clearinghouseId: string, claimType: ClaimType, actor: string, now: Date, numbers: ControlNumberSource): Promise<BatchSummary | undefined> {
    const q = <T>(sql: string, params: unknown[]): Promise<T[]> => em.query<T[]>(sql, params);
    const [ch] = await q<ClearinghouseRow>(`SELECT * FROM practice_clearinghouse WHERE id = $1`, [clearinghouseId]);
    if (!ch) return undefined;
    const isa = (await numbers('interchange', 1, em))[0] as number;
    const gs = (await numbers('group', 1, em))[0] as number;
    const fileName = `${claimType === 'professional' ? '837P' : '837I'}_${ch.key}_${String(isa).padStart(9, '0')}_${ccyymmdd(now)}.x12`;
    const [batch] = await q<{ id: string }>(
      `INSERT INTO claim_batch (clearinghouse_id, claim_type, interchange_control_number, group_control_number, transaction_control_numbers, file_name, created_by)
       VALUES ($1, $2, $3, $4, '{}', $5, $6) RETURNING id`,
      [clearinghouseId, claimType, isa, gs, fileName, actor],
    );
    const batchId = (batch as { id: string }).id;
    const taken = await q<{ n: string; total: string | null }>(
      `WITH taken AS (
         UPDATE claim SET status = 'batched', batch_id = $1, updated_at = now()
          WHERE id IN (SELECT c.id FROM claim c JOIN practice_payer p ON p.id = c.payer_id
                        WHERE c.status = 'ready' AND ${SCRUBBED_CLEAN} AND c.claim_type = $2 AND p.clearinghouse_id = $3
                        FOR UPDATE OF c SKIP LOCKED)
         RETURNING id, total_charge
       ), history AS (
         INSERT INTO claim_event (claim_id, from_status, to_status, reason, actor)
         SELECT id, 'ready', 'batched', 'in batch ' || $1 || ' (ISA13 ' || $4 || ')', $5 FROM taken
       )
       SELECT count(*)::text AS n, sum(total_charge)::text AS total FROM taken`,
      [batchId, claimType, clearinghouseId, String(isa).padStart(9, '0'), actor],
    );
    const claims = Number(taken[0]?.n ?? 0);
    if (claims === 0) {
      // Another instance took them between the look-up and the lock: no empty file.
      await q(`DELETE FROM claim_batch WHERE id = $1`, [batchId]);
      return undefined;
    }
    const transactions = Math.ceil(claims / CLAIMS_PER_TRANSACTION);
    const stNumbers = await numbers('transaction', transactions, em);

    const hash = createHash('sha256');
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let part = 0;
    let bytes = 0;
    const flush = async (all: boolean): Promise<void> => {
      while (pendingBytes >= PART_BYTES || (all && pendingBytes > 0)) {
        const whole = Buffer.concat(pending, pendingBytes);
        const cut = all ? whole.length : PART_BYTES;
        await q(`INSERT INTO claim_batch_file (batch_id, part, bytes) VALUES ($1, $2, $3)`, [batchId, ++part, whole.subarray(0, cut)]);
        const rest = whole.subarray(cut);
        pending = rest.length > 0 ? [rest] : [];
        pendingBytes = rest.length;
      }
    };
    const writer = new Batch837Writer(
      {
        type: claimType, delimiters: ch.delimiters,
        interchange: { senderQualifier: ch.isa_sender_qualifier, senderId: ch.isa_sender_id, receiverQualifier: ch.isa_receiver_qualifier, receiverId: ch.isa_receiver_id, controlNumber: isa, usage: ch.usage, ackRequested: ch.ack_requested, createdAt: now },
        group: { senderCode: ch.gs_sender_code, receiverCode: ch.gs_receiver_code, controlNumber: gs, createdAt: now },
        submitter: ch.submitter, receiver: { name: ch.name, id: ch.receiver_id },
        claimsPerTransaction: CLAIMS_PER_TRANSACTION,
        // BHT03: unique per transaction (277CA answers quote it): batch and ST02.
        transaction: (n) => ({ controlNumber: stNumbers[n] as number, referenceId: `HC${batchId}-${stNumbers[n] as number}` }),
      },
      (chunk) => {
        // X12 here is ASCII (the claim checks refuse anything else): one byte per character.
        const buf = Buffer.from(chunk, 'latin1');
        hash.update(buf);
        bytes += buf.length;
        pending.push(buf);
        pendingBytes += buf.length;
      },
    );
    // Claims sorted so that consecutive claims share billing provider and subscriber levels.
    let last: [string, string, string, string] | undefined;
    for (;;) {
      const page = await q<{ id: string; billing_provider_id: string; payer_id: string; patient_id: string; payload: Claim837 }>(
        `SELECT id, billing_provider_id, payer_id, patient_id, payload FROM claim
          WHERE batch_id = $1 AND ($2::bigint IS NULL OR (billing_provider_id, payer_id, patient_id, id) > ($2, $3, $4, $5))
          ORDER BY billing_provider_id, payer_id, patient_id, id LIMIT ${PAGE}`,
        [batchId, last?.[0] ?? null, last?.[1] ?? null, last?.[2] ?? null, last?.[3] ?? null],
      );
      const byTransaction = new Map<number, string[]>();
      for (const c of page) {
        const st = writer.add(c.payload);
        const ids = byTransaction.get(st);
        if (ids) ids.push(c.id);
        else byTransaction.set(st, [c.id]);
      }
      for (const [st, ids] of byTransaction) await q(`UPDATE claim SET transaction_control_number = $1 WHERE id = ANY($2::bigint[])`, [st, ids]);
      await flush(false);
      if (page.length < PAGE) break;
      const l = page[page.length - 1] as (typeof page)[number];
      last = [l.billing_provider_id, l.payer_id, l.patient_id, l.id];
    }
    const summary = writer.finish();
    await flush(true);
    await q(
      `UPDATE claim_batch SET transaction_control_numbers = $2, file_bytes = $3, file_sha256 = $4, claim_count = $5, total_charge = $6 WHERE id = $1`,
      [batchId, stNumbers, bytes, hash.digest(), claims, taken[0]?.total ?? '0'],
    );
    this.log.info({ event: 'batch_created', batchId, clearinghouse: ch.key, claimType, claims, transactions: summary.transactions, bytes, isa13: isa, gs06: gs });
    return {
      id: batchId, clearinghouse: ch.key, claimType, claims, transactions: summary.transactions, bytes, interchangeControlNumber: isa, groupControlNumber: gs, fileName,
      totalCharge: taken[0]?.total ?? '0',
    };
  }

  /** The file's exact bytes, part by part. */
  async *file(batchId: string): AsyncGenerator<Buffer> {
    for (let part = 1; ; part++) {
      const [row] = await this.dataSource.query<{ bytes: Buffer }[]>(`SELECT bytes FROM claim_batch_file WHERE batch_id = $1 AND part = $2`, [batchId, part]);
      if (!row) return;
      yield row.bytes;
    }
  }

  async get(batchId: string): Promise<Record<string, unknown> | undefined> {
    const [b] = await this.dataSource.query<Record<string, unknown>[]>(
      `SELECT b.id, h.key AS clearinghouse, b.claim_type AS "claimType", b.status, b.interchange_control_number AS "interchangeControlNumber",
              b.group_control_number AS "groupControlNumber", b.transaction_control_numbers AS "transactionControlNumbers", b.file_name AS "fileName",
              b.file_bytes::int AS bytes, encode(b.file_sha256, 'hex') AS sha256, b.claim_count AS claims, b.total_charge::text AS "totalCharge",
              b.created_at AS "createdAt", b.created_by AS "createdBy", b.delivered_at AS "deliveredAt", b.deliveries, b.ack_status AS "ackStatus"
         FROM claim_batch b JOIN practice_clearinghouse h ON h.id = b.clearinghouse_id WHERE b.id = $1`,
      [batchId],
    );
    if (!b) return undefined;
    const claims = await this.dataSource.query<{ id: string; patientControlNumber: string; status: string }[]>(
      `SELECT id, patient_control_number AS "patientControlNumber", status FROM claim WHERE batch_id = $1 ORDER BY id LIMIT 1000`,
      [batchId],
    );
    return { ...b, claimList: claims };
  }
}
