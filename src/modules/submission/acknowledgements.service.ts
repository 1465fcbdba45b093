import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { logger } from '../../common/logger';
import { ClaimsRepository, type ClaimStatus } from '../claims/claims.repository';
import { el, outcomeOfCategory, read277ca, read999, readX12, X12ReadError, type Ack277, type Ack999 } from '../../lib/x12';

export interface AckImportSummary {
  kind: '999' | '277CA';
  fileId: string;
  /** The same file was imported before: nothing changed. */
  duplicate: boolean;
  batchId?: string;
  accepted: number;
  rejected: number;
  /** Claims the file speaks of whose status it does not change (already further along). */
  unchanged: number;
  /** 277CA patient control numbers that match no claim. */
  unmatched: string[];
}

/** A file we can read but cannot apply (it answers something we did not send). */
export class AckMismatchError extends Error {
  constructor(
    message: string,
    readonly location: string,
  ) {
    super(`${location}: ${message}`);
    this.name = 'AckMismatchError';
  }
}

type Q = <T>(sql: string, params: unknown[]) => Promise<T[]>;

/**
 * Applies 999 and 277CA files: each in one transaction (nothing half-applied), each file once
 * (identified by its SHA-256: importing it again changes nothing). A 999 moves the claims of each
 * acknowledged transaction set to accepted or rejected and its batch to its group status; a
 * 277CA moves each claim, found by its patient control number, to payer_accepted or
 * payer_rejected and keeps the payer's claim number. Every change is in the claim's history, with
 * the reasons in plain words.
 */
@Injectable()
export class AcknowledgementsService {
  private readonly log = logger('acknowledgements');

  constructor(
    private readonly dataSource: DataSource,
    private readonly claims: ClaimsRepository,
  ) {}

  async import(bytes: Buffer, opts: { fileName?: string; actor: string }): Promise<AckImportSummary> {
    const segments = await readX12(bytes);
    const st = segments.find((s) => s.id === 'ST');
    const type = st ? el(st, 1) : '';
    let parsed: { kind: '999'; ack: Ack999 } | { kind: '277CA'; ack: Ack277 };
    if (type === '999') parsed = { kind: '999', ack: read999(segments) };
    else if (type === '277') parsed = { kind: '277CA', ack: read277ca(segments) };
    else throw new X12ReadError(`ST01 "${type}" is neither 999 nor 277: not an acknowledgement of claims`, st ? `segment ${st.position} (ST)` : 'ST');
    const sha = createHash('sha256').update(bytes).digest();
    return this.dataSource.transaction(async (em) => {
      const q: Q = (sql, params) => em.query(sql, params);
      const [file] = await q<{ id: string }>(
        `INSERT INTO ack_file (kind, content_sha256, file_name, received_by, raw, summary) VALUES ($1, $2, $3, $4, $5, '{}')
         ON CONFLICT (content_sha256) DO NOTHING RETURNING id`,
        [parsed.kind, sha, opts.fileName ?? null, opts.actor, bytes],
      );
      if (!file) {
        const [prior] = await q<{ id: string; summary: AckImportSummary }>(`SELECT id, summary FROM ack_file WHERE content_sha256 = $1`, [sha]);
        return { ...(prior?.summary as AckImportSummary), fileId: prior?.id ?? '', duplicate: true };
      }
      const summary = parsed.kind === '999' ? await this.apply999(em, q, file.id, parsed.ack, opts.actor) : await this.apply277(em, q, file.id, parsed.ack, opts.actor);
      await q(`UPDATE ack_file SET summary = $2 WHERE id = $1`, [file.id, JSON.stringify(summary)]);
      this.log.info({ event: 'ack_imported', kind: summary.kind, fileId: file.id, batchId: summary.batchId, accepted: summary.accepted, rejected: summary.rejected, unmatched: summary.unmatched.length });
      return summary;
    });
  }

  private async apply999(em: EntityManager, q: Q, fileId: string, ack: Ack999, actor: string): Promise<AckImportSummary> {
    const [batch] = await q<{ id: string; transaction_control_numbers: number[] }>(
      `SELECT id, transaction_control_numbers FROM claim_batch WHERE group_control_number = $1 FOR UPDATE`,
      [Number(ack.groupControlNumber)],
    );
    if (!batch) throw new AckMismatchError(`group control number ${ack.groupControlNumber} matches no batch that was sent`, 'AK1-02');
    const summary: AckImportSummary = { kind: '999', fileId, duplicate: false, batchId: batch.id, accepted: 0, rejected: 0, unchanged: 0, unmatched: [] };
    for (const t of ack.transactions) {
      const st = Number(t.controlNumber);
      if (!batch.transaction_control_numbers.includes(st)) throw new AckMismatchError(`ST02 ${t.controlNumber} is not a transaction set of batch ${batch.id}`, 'AK2-02');
      const accepted = t.status === 'A' || t.status === 'E';
      const to = accepted ? 'accepted' : 'rejected';
      const why = [
        `999 ${t.statusDescription}`,
        ...t.reasons.map((r) => r.description),
        ...t.errors.map((e) => `${e.segment} (segment ${e.position}${e.loop ? `, loop ${e.loop}` : ''}): ${e.description}${e.elements.map((x) => `; element ${e.segment}${x.position.padStart(2, '0')}: ${x.description}${x.value ? ` ("${x.value}")` : ''}`).join('')}${e.context.length ? ` [${e.context.join('; ')}]` : ''}`),
      ].join('; ');
      const claims = await q<{ id: string; status: ClaimStatus }>(`SELECT id, status FROM claim WHERE batch_id = $1 AND transaction_control_number = $2 FOR UPDATE`, [batch.id, st]);
      for (const c of claims) {
        await q(
          `INSERT INTO claim_response (claim_id, ack_file_id, kind, outcome, code, message, details) VALUES ($1, $2, '999', $3, $4, $5, $6)`,
          [c.id, fileId, to, t.status, why, JSON.stringify({ reasons: t.reasons, errors: t.errors })],
        );
        if (c.status !== 'batched' && c.status !== 'submitted') {
          summary.unchanged++;
          continue;
        }
        await q(`UPDATE claim SET status = $2, updated_at = now() WHERE id = $1`, [c.id, to]);
        await this.claims.event(em, c.id, c.status, to, why, actor);
        if (accepted) summary.accepted++;
        else summary.rejected++;
      }
    }
    const batchStatus = ack.groupStatus === 'A' || ack.groupStatus === 'E' ? 'accepted' : ack.groupStatus === 'P' ? 'partially_accepted' : 'rejected';
    await q(`UPDATE claim_batch SET status = $2, ack_status = $3 WHERE id = $1`, [batch.id, batchStatus, ack.groupStatus]);
    return summary;
  }

  private async apply277(em: EntityManager, q: Q, fileId: string, ack: Ack277, actor: string): Promise<AckImportSummary> {
    const summary: AckImportSummary = { kind: '277CA', fileId, duplicate: false, accepted: 0, rejected: 0, unchanged: 0, unmatched: [] };
    for (const a of ack.claims) {
      const [c] = await q<{ id: string; status: ClaimStatus }>(`SELECT id, status FROM claim WHERE patient_control_number = $1 FOR UPDATE`, [a.patientControlNumber]);
      if (!c) {
        summary.unmatched.push(a.patientControlNumber);
        continue;
      }
      // The decisive status: a rejection wins over an acknowledgement in the same STC.
      const outcomes = a.statuses.map((s) => outcomeOfCategory(s.category));
      const outcome = outcomes.includes('rejected') ? 'rejected' : outcomes.includes('accepted') ? 'accepted' : undefined;
      const first = a.statuses.find((s) => outcomeOfCategory(s.category) === outcome) ?? a.statuses[0];
      const why = a.statuses
        .map((s) => `277CA ${s.category}${s.code ? `:${s.code}` : ''}${s.entity ? `:${s.entity}` : ''} ${s.description}${s.code ? ` (claim status code ${s.code}${s.entity ? `, entity ${s.entity}` : ''})` : ''}`)
        .join('; ');
      await q(
        `INSERT INTO claim_response (claim_id, ack_file_id, kind, outcome, code, message, details) VALUES ($1, $2, '277CA', $3, $4, $5, $6)`,
        [c.id, fileId, outcome ?? 'informational', first ? `${first.category}:${first.code}` : null, why, JSON.stringify(a)],
      );
      if (a.payerClaimControlNumber !== undefined) await q(`UPDATE claim SET payer_claim_control_number = $2 WHERE id = $1`, [c.id, a.payerClaimControlNumber]);
      const to = outcome === 'accepted' ? 'payer_accepted' : outcome === 'rejected' ? 'payer_rejected' : undefined;
      const from = outcome === 'accepted' ? ['batched', 'submitted', 'accepted'] : ['batched', 'submitted', 'accepted', 'payer_accepted'];
      if (to === undefined || !from.includes(c.status)) {
        summary.unchanged++;
        continue;
      }
      await q(`UPDATE claim SET status = $2, updated_at = now() WHERE id = $1`, [c.id, to]);
      await this.claims.event(em, c.id, c.status, to, why, actor);
      if (to === 'payer_accepted') summary.accepted++;
      else summary.rejected++;
    }
    return summary;
  }
}
