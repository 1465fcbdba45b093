import type { EntityManager } from 'typeorm';
import { Injectable } from '@nestjs/common';
import { logger } from '../../common/logger';
import type { Finding } from '../../lib/scrub';
import { ScrubberService } from '../scrubber/scrubber.service';
import { buildEncounterClaims } from './claim-builder';
import { ClaimsRepository, CorrectionError, statusesToRebuild, type SavedClaim } from './claims.repository';

export interface BuildSummary {
  encounters: number;
  created: number;
  updated: number;
  ready: number;
  held: number;
  skipped: number;
}

/** Encounters built at once by one builder (each its own transaction and pool connection)... */
const BUILD_CONCURRENCY = 4;
/** ...when it has more than this many to build. */
const PARALLEL_FROM = 100;

/**
 * Claim building: each encounter with unbilled charges in its own transaction (its row locked,
 * so concurrent builders never double-bill it); the rules live in claim-builder.ts.
 */
@Injectable()
export class ClaimsService {
  private readonly log = logger('claims');

  constructor(
    private readonly repository: ClaimsRepository,
    private readonly scrubber: ScrubberService,
  ) {}

  async build(opts: { encounterIds?: string[]; limit?: number; settledMinutes?: number; actor: string }): Promise<BuildSummary> {
    const started = Date.now();
    const summary: BuildSummary = { encounters: 0, created: 0, updated: 0, ready: 0, held: 0, skipped: 0 };
    const practice = await this.repository.practiceView();
    const rebuild = statusesToRebuild(opts.encounterIds !== undefined);
    const candidates = await this.repository.candidateEncounters(opts.encounterIds, opts.limit ?? 10_000, opts.settledMinutes);
    const one = (encounterId: string): Promise<void> =>
      this.repository.transaction(async (em) => {
        const bundle = await this.repository.bundle(em, encounterId, rebuild);
        if (!bundle) return;
        summary.encounters++;
        const outcome = buildEncounterClaims(bundle, practice);
        if (outcome.drafts.length === 0) {
          summary.skipped++;
          return;
        }
        const saved = await this.repository.saveDrafts(em, encounterId, bundle.patient.id, outcome.drafts, opts.actor, rebuild);
        // Every claim is scrubbed as it is built or rebuilt (a new version): an unresolved error holds it.
        const scrubbed = new Map((await this.scrubber.rescrub(em, saved.map((s) => s.id), opts.actor)).map((o) => [o.claimId, o.status]));
        for (const s of saved) {
          if (s.created) summary.created++;
          else summary.updated++;
          if ((scrubbed.get(s.id) ?? s.status) === 'held') summary.held++;
          else summary.ready++;
        }
      });
    // A backlog (the job after a busy minute) is built a few encounters at once, each in its own
    // transaction (as several instances would): the round trips of one overlap another's. A small
    // build (a person's, the demo) goes one by one, so claims are numbered in encounter order. A
    // failure stops the workers taking more and is raised once they are done.
    let next = 0;
    let failure: { error: unknown } | undefined;
    const worker = async (): Promise<void> => {
      while (failure === undefined && next < candidates.length) {
        const encounterId = candidates[next++] as string;
        try {
          await one(encounterId);
        } catch (e) {
          failure ??= { error: e };
        }
      }
    };
    await Promise.all(Array.from({ length: candidates.length > PARALLEL_FROM ? BUILD_CONCURRENCY : 1 }, worker));
    if (failure !== undefined) throw failure.error;
    this.log.info({ event: 'claims_built', ...summary, ms: Date.now() - started });
    return summary;
  }

  /**
   * A replacement (frequency 7: rebuilt from the encounter's current data for the same charges) or
   * a void (8: the claim as sent). The new claim carries the payer's claim number in REF*F8 and
   * goes out in the next batch; the original becomes `replaced`. `after` runs in the same
   * transaction.
   */
  async correct(claimId: string, frequency: '7' | '8', actor: string, after?: (em: EntityManager, corrected: SavedClaim) => Promise<void>): Promise<SavedClaim> {
    const practice = frequency === '7' ? await this.repository.practiceView() : undefined;
    return this.repository.transaction(async (em) => {
      const o = await this.repository.lockForCorrection(em, claimId);
      if (frequency === '8') {
        const voided = await this.repository.saveCorrection(em, o, { claim: o.payload, lineCharges: o.lineCharges, problems: [], totalCharge: o.totalCharge, serviceFrom: o.serviceFrom, serviceTo: o.serviceTo }, '8', actor);
        const [scrubbed] = await this.scrubber.rescrub(em, [voided.id], actor);
        const out = { ...voided, status: scrubbed?.status === 'held' ? 'held' : voided.status };
        await after?.(em, out);
        return out;
      }
      const bundle = await this.repository.bundle(em, o.encounterId, [], o.id);
      const outcome = bundle && practice ? buildEncounterClaims(bundle, practice) : { drafts: [] };
      if (outcome.drafts.length === 0) throw new CorrectionError('conflict', `claim ${claimId} has no billable charges left: void it (frequency 8) instead`);
      if (outcome.drafts.length > 1) throw new CorrectionError('conflict', `the corrected claim ${claimId} would split into ${outcome.drafts.length} claims: void it and bill the encounter again`);
      const saved = await this.repository.saveCorrection(em, o, outcome.drafts[0] as (typeof outcome.drafts)[number], '7', actor);
      const [scrubbed] = await this.scrubber.rescrub(em, [saved.id], actor);
      this.log.info({ event: 'claim_corrected', claimId, newClaimId: saved.id, frequency });
      const out = { ...saved, status: scrubbed?.status === 'held' ? 'held' : saved.status };
      // Work done with the correction, in its transaction (the work queue marks its item resubmitted).
      await after?.(em, out);
      return out;
    });
  }

  /**
   * A dry run for encounters: their claims are built as they would be now and scrubbed; nothing
   * is saved (the transaction is rolled back).
   */
  async dryRunEncounters(encounterIds: readonly string[]): Promise<{ encounterId: string; claims: { claimType: string; part: number; payerId: string | null; problems: unknown[]; wouldBe: string; findings: Finding[] }[]; skipped?: string }[]> {
    const practice = await this.repository.practiceView();
    const [codes, settings] = await Promise.all([this.scrubber.codes(), this.scrubber.settings()]);
    const out: Awaited<ReturnType<ClaimsService['dryRunEncounters']>> = [];
    const rollback = new Error('dry run');
    await this.repository
      .transaction(async (em) => {
        for (const encounterId of encounterIds) {
          const bundle = await this.repository.bundle(em, encounterId, statusesToRebuild(true));
          if (!bundle) {
            out.push({ encounterId, claims: [], skipped: 'no such encounter' });
            continue;
          }
          const outcome = buildEncounterClaims(bundle, practice);
          const claims = [];
          for (const d of outcome.drafts) {
            const findings = await this.scrubber.evaluate(em, d.claim, { claimId: null, patientId: bundle.patient.id, payerRowId: d.payerRowId }, settings, codes);
            const wouldBe = d.problems.length > 0 || findings.some((f) => f.severity === 'error') ? 'held' : 'ready';
            claims.push({ claimType: d.claimType, part: d.part, payerId: d.claim.payer.id || null, problems: d.problems, wouldBe, findings });
          }
          out.push({ encounterId, claims, ...(outcome.skipped !== undefined ? { skipped: outcome.skipped } : {}) });
        }
        throw rollback;
      })
      .catch((e: unknown) => {
        if (e !== rollback) throw e;
      });
    return out;
  }
}
