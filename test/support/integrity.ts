import type { TestDatabase } from './db';

/**
 * Rows of intake's hot-path tables, of the 835 ledger and of the work queue whose parent is missing. Those tables carry
 * no foreign keys there (migrations 1764129600000, 1764388800000): their parents come by
 * construction, so the suites check it.
 */
export async function orphans(db: TestDatabase): Promise<string[]> {
  const checks: [string, string][] = [
    ['charge.encounter_id', `SELECT count(*) AS n FROM charge c WHERE NOT EXISTS (SELECT 1 FROM encounter e WHERE e.id = c.encounter_id)`],
    ['charge.message_id', `SELECT count(*) AS n FROM charge c WHERE NOT EXISTS (SELECT 1 FROM inbound_message m WHERE m.id = c.message_id)`],
    ['charge.patient_id', `SELECT count(*) AS n FROM charge c WHERE NOT EXISTS (SELECT 1 FROM patient p WHERE p.id = c.patient_id)`],
    ['diagnosis.encounter_id', `SELECT count(*) AS n FROM diagnosis d WHERE NOT EXISTS (SELECT 1 FROM encounter e WHERE e.id = d.encounter_id)`],
    ['coverage.patient_id', `SELECT count(*) AS n FROM coverage c WHERE NOT EXISTS (SELECT 1 FROM patient p WHERE p.id = c.patient_id)`],
    ['coverage.encounter_id', `SELECT count(*) AS n FROM coverage c WHERE c.encounter_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM encounter e WHERE e.id = c.encounter_id)`],
    ['encounter.patient_id', `SELECT count(*) AS n FROM encounter e WHERE NOT EXISTS (SELECT 1 FROM patient p WHERE p.id = e.patient_id)`],
    // The 835 ledger's own references (migration 1764388800000) come by construction too.
    ['claim_payment.transaction_id', `SELECT count(*) AS n FROM claim_payment c WHERE NOT EXISTS (SELECT 1 FROM remittance_transaction t WHERE t.id = c.transaction_id)`],
    ['claim_payment.reverses_payment_id', `SELECT count(*) AS n FROM claim_payment c WHERE c.reverses_payment_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM claim_payment o WHERE o.id = c.reverses_payment_id)`],
    ['service_payment.claim_payment_id', `SELECT count(*) AS n FROM service_payment s WHERE NOT EXISTS (SELECT 1 FROM claim_payment c WHERE c.id = s.claim_payment_id)`],
    ['payment_adjustment.claim_payment_id', `SELECT count(*) AS n FROM payment_adjustment a WHERE NOT EXISTS (SELECT 1 FROM claim_payment c WHERE c.id = a.claim_payment_id)`],
    ['payment_adjustment.service_payment_id', `SELECT count(*) AS n FROM payment_adjustment a WHERE a.service_payment_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM service_payment s WHERE s.id = a.service_payment_id AND s.claim_payment_id = a.claim_payment_id)`],
    ['service_payment.claim_line_id', `SELECT count(*) AS n FROM service_payment s WHERE s.claim_line_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM claim_line l WHERE l.id = s.claim_line_id)`],
    // The work queue's (migration 1764561600000).
    ['work_item.denial_id', `SELECT count(*) AS n FROM work_item w WHERE w.denial_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM denial d WHERE d.id = w.denial_id)`],
    ['work_item_event.work_item_id', `SELECT count(*) AS n FROM work_item_event e WHERE NOT EXISTS (SELECT 1 FROM work_item w WHERE w.id = e.work_item_id)`],
    ['remittance_exception.transaction_id', `SELECT count(*) AS n FROM remittance_exception x WHERE NOT EXISTS (SELECT 1 FROM remittance_transaction t WHERE t.id = x.transaction_id)`],
  ];
  const out: string[] = [];
  for (const [what, sql] of checks) {
    const [row] = await db.query<{ n: string | number }>(sql);
    if (Number(row?.n ?? 0) > 0) out.push(`${what}: ${String(row?.n)} rows without a parent`);
  }
  return out;
}
