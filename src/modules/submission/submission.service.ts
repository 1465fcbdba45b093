import { open, readFile } from 'node:fs/promises';
import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { IntervalJob } from '../../common/interval-job';
import { logger } from '../../common/logger';
import { metrics } from '../../common/metrics';
import { APP_CONFIG } from '../../config/config.module';
import { AppConfig } from '../../config/config';
import { X12ReadError } from '../../lib/x12';
import { RemittanceService, type RemitImportSummary } from '../remittance/remittance.service';
import { fileSource } from '../remittance/source';
import { ClaimsService, type BuildSummary } from '../claims/claims.service';
import { AckMismatchError, AcknowledgementsService, type AckImportSummary } from './acknowledgements.service';
import { BatchesService, type BatchSummary } from './batches.service';
import { deliveryAdapter, type DeliveryConfig } from './delivery';

/**
 * Whether a response file is an 835: its first ST names the transaction set (read from the first
 * 64 KB with the element separator of its ISA); anything else goes to the acknowledgement reader.
 */
export async function isRemittance(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const head = buf.subarray(0, bytesRead).toString('latin1').replace(/^(\u00EF\u00BB\u00BF|\s)+/, '');
    if (!head.startsWith('ISA') || head.length < 4) return false;
    const sep = head.charAt(3).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return new RegExp(`(?:^|[^A-Za-z0-9])ST${sep}835(?:[^A-Za-z0-9]|$)`).test(head);
  } finally {
    await fh.close();
  }
}

/** Arbitrary constant: the advisory lock that lets one instance at a time run the submission job. */
const SUBMISSION_LOCK = 727_002;

export interface DeliverySummary {
  batchId: string;
  fileName: string;
  delivered: boolean;
  replay: boolean;
  claimsSubmitted: number;
}

export interface SubmissionRun {
  ran: boolean;
  /** When this instance held the job's lock (ISO 8601), for a run that ran: runs never overlap, across instances too. */
  startedAt?: string;
  finishedAt?: string;
  built?: BuildSummary;
  batches: BatchSummary[];
  deliveries: DeliverySummary[];
  responses: { file: string; clearinghouse: string; kind?: '999' | '277CA' | '835'; result?: AckImportSummary; remittance?: RemitImportSummary; refused?: string }[];
}

/**
 * The clearinghouse submission job: build claims for settled encounters, batch ready claims,
 * deliver new batches and fetch responses (999, 277CA, 835). One instance runs it at a time (a PostgreSQL advisory
 * lock held for the run); it runs every SUBMISSION_INTERVAL_SECONDS, or once from the CLI or API.
 */
@Injectable()
export class SubmissionService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = logger('submission');
  private readonly job = new IntervalJob('submission', this.log, () => this.runOnce('job'));

  constructor(
    private readonly dataSource: DataSource,
    private readonly claims: ClaimsService,
    private readonly batches: BatchesService,
    private readonly acks: AcknowledgementsService,
    private readonly remittances: RemittanceService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.job.start(this.config.SUBMISSION_INTERVAL_SECONDS * 1000);
  }

  async onModuleDestroy(): Promise<void> {
    await this.job.stop();
  }

  /** One run of the job, unless another instance is running it (then `ran` is false). */
  async runOnce(actor: string): Promise<SubmissionRun> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      const [lock] = (await runner.query('SELECT pg_try_advisory_lock($1) AS ok', [SUBMISSION_LOCK])) as { ok: boolean }[];
      if (!lock?.ok) {
        metrics.submissionRuns.inc({ ran: 'false' });
        return { ran: false, batches: [], deliveries: [], responses: [] };
      }
      const stopTimer = metrics.submissionSeconds.startTimer();
      const startedAt = new Date().toISOString();
      try {
        const built = await this.claims.build({ actor, settledMinutes: this.config.CLAIMS_SETTLED_MINUTES });
        const batches = await this.batches.create({ actor });
        const pending = await this.dataSource.query<{ id: string }[]>(`SELECT id FROM claim_batch WHERE delivered_at IS NULL AND status = 'created' ORDER BY id`);
        const deliveries: DeliverySummary[] = [];
        for (const b of pending) deliveries.push(await this.deliver(b.id, { replay: false, actor }));
        const responses = await this.fetchResponses(actor);
        this.log.info({ event: 'submission_run', built: built.created + built.updated, batches: batches.length, delivered: deliveries.length, responses: responses.length });
        return { ran: true, startedAt, finishedAt: new Date().toISOString(), built, batches, deliveries, responses };
      } finally {
        stopTimer();
        metrics.submissionRuns.inc({ ran: 'true' });
        await runner.query('SELECT pg_advisory_unlock($1)', [SUBMISSION_LOCK]);
      }
    } finally {
      await runner.release();
    }
  }

  /**
   * Puts a batch's exact bytes in the clearinghouse's outbox. Delivered batches are not sent again
   * unless `replay` (then the same bytes, same name, same ISA13: the clearinghouse sees a resend,
   * and nothing is created twice here). Claims move from batched to submitted on the first delivery.
   */
  async deliver(batchId: string, opts: { replay: boolean; actor: string }): Promise<DeliverySummary> {
    const [b] = await this.dataSource.query<{ id: string; file_name: string; delivered_at: Date | null; status: string; key: string; delivery: DeliveryConfig }[]>(
      `SELECT b.id, b.file_name, b.delivered_at, b.status, h.key, h.delivery FROM claim_batch b JOIN practice_clearinghouse h ON h.id = b.clearinghouse_id WHERE b.id = $1`,
      [batchId],
    );
    if (!b) throw new DeliveryError(`batch ${batchId} does not exist`);
    if (b.status === 'cancelled') throw new DeliveryError(`batch ${batchId} is cancelled`);
    if (b.delivered_at !== null && !opts.replay) return { batchId, fileName: b.file_name, delivered: false, replay: false, claimsSubmitted: 0 };
    const adapter = deliveryAdapter(b.delivery);
    try {
      await adapter.put(b.file_name, this.batches.file(batchId));
    } finally {
      await adapter.close();
    }
    const submitted = await this.dataSource.transaction(async (em) => {
      await em.query(
        `UPDATE claim_batch SET delivered_at = COALESCE(delivered_at, now()), deliveries = deliveries + 1, status = CASE WHEN status = 'created' THEN 'delivered' ELSE status END WHERE id = $1`,
        [batchId],
      );
      const rows = await em.query<{ id: string }[]>(
        `WITH moved AS (UPDATE claim SET status = 'submitted', updated_at = now() WHERE batch_id = $1 AND status = 'batched' RETURNING id)
         INSERT INTO claim_event (claim_id, from_status, to_status, reason, actor)
         SELECT id, 'batched', 'submitted', $2, $3 FROM moved RETURNING claim_id`,
        [batchId, `delivered to ${b.key} as ${b.file_name}`, opts.actor],
      );
      return rows.length;
    });
    this.log.info({ event: 'batch_delivered', batchId, clearinghouse: b.key, replay: opts.replay, claims: submitted });
    return { batchId, fileName: b.file_name, delivered: true, replay: b.delivered_at !== null, claimsSubmitted: submitted };
  }

  /**
   * Imports every response file waiting at every clearinghouse (999s and 277CAs as
   * acknowledgements, 835s as remittances, told apart by their ST01); each file is moved to
   * processed/ or refused/ once handled.
   */
  async fetchResponses(actor: string): Promise<SubmissionRun['responses']> {
    const clearinghouses = await this.dataSource.query<{ key: string; delivery: DeliveryConfig }[]>(`SELECT key, delivery FROM practice_clearinghouse ORDER BY id`);
    const out: SubmissionRun['responses'] = [];
    for (const h of clearinghouses) {
      const adapter = deliveryAdapter(h.delivery);
      try {
        for (const file of await adapter.responses()) {
          const local = await adapter.local(file);
          try {
            if (await isRemittance(local.path)) {
              const result = await this.remittances.import(fileSource(local.path, file), { actor });
              if (result.refused) {
                this.log.warn({ event: 'response_refused', clearinghouse: h.key, file, kind: '835', error: result.refused.error });
                out.push({ file, clearinghouse: h.key, kind: '835', remittance: result, refused: result.refused.error });
                await adapter.done(file, 'refused');
              } else {
                out.push({ file, clearinghouse: h.key, kind: '835', remittance: result });
                await adapter.done(file, 'processed');
              }
              continue;
            }
            const bytes = await readFile(local.path);
            try {
              const result = await this.acks.import(bytes, { fileName: file, actor });
              out.push({ file, clearinghouse: h.key, kind: result.kind, result });
              await adapter.done(file, 'processed');
            } catch (e) {
              if (!(e instanceof X12ReadError || e instanceof AckMismatchError)) throw e;
              this.log.warn({ event: 'response_refused', clearinghouse: h.key, file, error: e.message });
              out.push({ file, clearinghouse: h.key, refused: e.message });
              await adapter.done(file, 'refused');
            }
          } finally {
            await local.done();
          }
        }
      } finally {
        await adapter.close();
      }
    }
    return out;
  }
}

export class DeliveryError extends Error {}
