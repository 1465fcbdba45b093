import type { TestDatabase } from './db';

/**
 * Rows of intake's hot-path tables whose parent is missing. Those tables carry no foreign keys
 * (migration 1764129600000): their parents come by construction, so the suites check it.
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
  ];
  const out: string[] = [];
  for (const [what, sql] of checks) {
    const [row] = await db.query<{ n: string | number }>(sql);
    if (Number(row?.n ?? 0) > 0) out.push(`${what}: ${String(row?.n)} rows without a parent`);
  }
  return out;
}
