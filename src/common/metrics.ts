import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The process's Prometheus metrics (names in docs/grafana-dashboard.json). Counters and
 * histograms are this instance's; the gauges read from PostgreSQL at scrape time (claims by
 * status, open work, unmatched payments) are the whole database's, the same on every instance:
 * sum the counters across instances, take one instance's value (max) for those gauges.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'hl7c_' });

export const metrics = {
  messages: new Counter({ name: 'hl7c_messages_total', help: 'HL7 messages stored, by type, status and ACK code', labelNames: ['type', 'status', 'ack'], registers: [registry] }),
  unavailable: new Counter({ name: 'hl7c_messages_unavailable_total', help: 'Frames answered "unavailable" because they could not be stored (sender resends)', registers: [registry] }),
  ackLatency: new Histogram({
    name: 'hl7c_ack_latency_seconds', help: 'From a frame received to its ACK written (MLLP)', registers: [registry],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  }),
  groupSize: new Histogram({ name: 'hl7c_group_commit_size', help: 'Messages stored per group commit (one transaction)', registers: [registry], buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256] }),
  connections: new Gauge({ name: 'hl7c_mllp_connections', help: 'Open MLLP connections', registers: [registry] }),
  dbErrors: new Counter({ name: 'hl7c_database_errors_total', help: 'Database errors met while storing messages, by whether they were transient', labelNames: ['transient'], registers: [registry] }),
  submissionRuns: new Counter({ name: 'hl7c_submission_runs_total', help: 'Submission job runs, by whether this instance ran it (another held the lock)', labelNames: ['ran'], registers: [registry] }),
  submissionSeconds: new Histogram({ name: 'hl7c_submission_run_seconds', help: 'Duration of the submission job runs this instance made', registers: [registry], buckets: [0.1, 0.5, 1, 5, 15, 60, 300] }),
  findings: new Counter({ name: 'hl7c_scrub_findings_total', help: 'Scrubber findings stored, by rule and severity', labelNames: ['rule', 'severity'], registers: [registry] }),
  remittances: new Counter({ name: 'hl7c_remittance_imports_total', help: '835 files imported, by outcome', labelNames: ['outcome'], registers: [registry] }),
};

type Source = { query: <T>(sql: string) => Promise<T[]>; pool: () => { total: number; idle: number; waiting: number } | undefined };
/** Where the gauges read from: the service's database (one per process; tests that start several services see the latest). */
let source: Source | undefined;
/** Claim statuses a claim leaves again (the hl7c_claims gauge counts these). */
const OPEN_CLAIM_STATUSES = ['draft', 'held', 'ready', 'batched', 'submitted', 'accepted', 'rejected', 'payer_accepted', 'payer_rejected', 'partially_paid', 'denied', 'reversed'];
/** A gauge's reading that fails (the database away) leaves the gauge as it was: the scrape still answers. */
async function read<T>(sql: string): Promise<T[] | undefined> {
  try {
    return await source?.query<T>(sql);
  } catch {
    return undefined;
  }
}

/** Gauges computed from the database at scrape time (made once; each call points them at the database given). */
export function databaseGauges(query: Source['query'], pool: Source['pool']): void {
  source = { query, pool };
  if (registry.getSingleMetric('hl7c_claims') !== undefined) return;
  new Gauge({
    // Counted at every scrape along ix_claim_status, so only the statuses claims pass through: the
    // finished ones (paid, forwarded, replaced, cancelled) only grow, and counting them read the
    // whole table each time (the soak: a quarter of a second at 60,000 claims, growing).
    name: 'hl7c_claims', help: 'Claims by status, for the statuses a claim passes through (not paid, forwarded, replaced or cancelled)', labelNames: ['status'], registers: [registry],
    async collect() {
      const rows = await read<{ status: string; n: number }>(
        `SELECT status, count(*)::int AS n FROM claim WHERE status IN (${OPEN_CLAIM_STATUSES.map((x) => `'${x}'`).join(', ')}) GROUP BY status`,
      );
      if (rows === undefined) return;
      this.reset();
      for (const r of rows) this.set({ status: r.status }, r.n);
    },
  });
  new Gauge({
    name: 'hl7c_work_items_open', help: 'Open work items by kind', labelNames: ['kind'], registers: [registry],
    async collect() {
      const rows = await read<{ kind: string; n: number }>(`SELECT kind, count(*)::int AS n FROM work_item WHERE closed_at IS NULL GROUP BY kind`);
      if (rows === undefined) return;
      this.reset();
      for (const r of rows) this.set({ kind: r.kind }, r.n);
    },
  });
  new Gauge({
    name: 'hl7c_unmatched_payments', help: '835 claim payments waiting to be matched', registers: [registry],
    async collect() {
      const rows = await read<{ n: number }>(`SELECT count(*)::int AS n FROM claim_payment WHERE match_status <> 'matched'`);
      if (rows?.[0] !== undefined) this.set(rows[0].n);
    },
  });
  new Gauge({
    name: 'hl7c_files', help: 'Batches (837), acknowledgement files (999/277CA) and 835 files stored', labelNames: ['kind'], registers: [registry],
    async collect() {
      const r = (await read<{ batches: number; acks: number; remits: number }>(
        `SELECT (SELECT count(*)::int FROM claim_batch) AS batches, (SELECT count(*)::int FROM ack_file) AS acks, (SELECT count(*)::int FROM remittance_file) AS remits`,
      ))?.[0];
      if (r === undefined) return;
      this.set({ kind: '837' }, r.batches);
      this.set({ kind: 'ack' }, r.acks);
      this.set({ kind: '835' }, r.remits);
    },
  });
  new Gauge({
    name: 'hl7c_messages_in_error', help: 'Stored messages in status error (to fix and reprocess)', registers: [registry],
    async collect() {
      const rows = await read<{ n: number }>(`SELECT count(*)::int AS n FROM inbound_message WHERE status = 'error'`);
      if (rows?.[0] !== undefined) this.set(rows[0].n);
    },
  });
  new Gauge({
    name: 'hl7c_db_pool_connections', help: 'This instance\'s database pool: total, idle, and requests waiting for a connection', labelNames: ['state'], registers: [registry],
    collect() {
      const p = source?.pool();
      if (p === undefined) return;
      this.set({ state: 'total' }, p.total);
      this.set({ state: 'idle' }, p.idle);
      this.set({ state: 'waiting' }, p.waiting);
    },
  });
}
