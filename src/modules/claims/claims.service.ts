import { Injectable } from '@nestjs/common';
import { logger } from '../../common/logger';
import { buildEncounterClaims } from './claim-builder';
import { ClaimsRepository } from './claims.repository';

export interface BuildSummary {
  encounters: number;
  created: number;
  updated: number;
  ready: number;
  held: number;
  skipped: number;
}

/**
 * Claim building: each encounter with unbilled charges in its own transaction (its row locked,
 * so concurrent builders never double-bill it); the rules live in claim-builder.ts.
 */
@Injectable()
export class ClaimsService {
  private readonly log = logger('claims');

  constructor(private readonly repository: ClaimsRepository) {}

  async build(opts: { encounterIds?: string[]; limit?: number; settledMinutes?: number; actor: string }): Promise<BuildSummary> {
    const started = Date.now();
    const summary: BuildSummary = { encounters: 0, created: 0, updated: 0, ready: 0, held: 0, skipped: 0 };
    const practice = await this.repository.practiceView();
    const candidates = await this.repository.candidateEncounters(opts.encounterIds, opts.limit ?? 10_000, opts.settledMinutes);
    for (const encounterId of candidates) {
      await this.repository.transaction(async (em) => {
        const bundle = await this.repository.bundle(em, encounterId);
        if (!bundle) return;
        summary.encounters++;
        const outcome = buildEncounterClaims(bundle, practice);
        if (outcome.drafts.length === 0) {
          summary.skipped++;
          return;
        }
        const saved = await this.repository.saveDrafts(em, encounterId, bundle.patient.id, outcome.drafts, opts.actor);
        for (const s of saved) {
          if (s.created) summary.created++;
          else summary.updated++;
          if (s.status === 'held') summary.held++;
          else summary.ready++;
        }
      });
    }
    this.log.info({ event: 'claims_built', ...summary, ms: Date.now() - started });
    return summary;
  }
}
