/**
 * Batch creation from PostgreSQL: N ready 4-line professional claims become 837 files (streamed,
 * stored in parts), in a child process whose time and peak RSS are measured; afterwards the
 * stored file is read back and its claims counted.
 */
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import pino from 'pino';
import { benchDatabase } from './bench-db';
import { setRootLogger } from '../../src/common/logger';
import { type DataSource } from 'typeorm';
import { createDataSource } from '../../src/database/data-source';
import { migrate } from '../../src/database/database';
import { streamX12 } from '../../src/lib/x12';
import { PracticeRepository } from '../../src/modules/practice/practice.repository';
import { readPracticeSetup } from '../../src/modules/practice/practice.setup';
import { EXAMPLE_PRACTICE_FILE } from '../../src/modules/practice/practice.service';
import { professionalClaim, professionalLine } from '../support/claims';

export interface BatchBenchResult {
  claims: number;
  seconds: number;
  peakRssMb: number;
  files: number;
  bytes: number;
  claimsInFiles: number;
}

export async function benchBatch(serverUrl: string, claims: number): Promise<BatchBenchResult> {
  setRootLogger(pino({ level: 'silent' }));
  const { url, drop } = await benchDatabase(serverUrl, 'batch');
  const ds: DataSource = createDataSource(url, 4);
  try {
    await ds.initialize();
    await migrate(ds);
    await new PracticeRepository(ds).apply(readPracticeSetup(EXAMPLE_PRACTICE_FILE));
    const [ids] = await ds.query<{ payer: string; provider: string; facility: string }[]>(
      `SELECT (SELECT id FROM practice_payer WHERE key = 'bcbsil') AS payer, (SELECT id FROM practice_billing_provider WHERE key = 'stmary-cardiology') AS provider,
              (SELECT id FROM practice_facility WHERE key = 'cardiology-clinic') AS facility`,
    );
    const [p] = await ds.query<{ id: string }[]>(`INSERT INTO patient (patient_key, mrn) VALUES ('BENCH', 'BENCH') RETURNING id`);
    const [e] = await ds.query<{ id: string }[]>(`INSERT INTO encounter (encounter_key, key_source, patient_id) VALUES ('BENCH', 'visit', $1) RETURNING id`, [p?.id]);
    const template = professionalClaim({
      totalCharge: '332.40',
      lines: [
        professionalLine(1, { modifiers: ['25'], diagnosisPointers: [1, 2] }), professionalLine(2, { procedureCode: '93000', charge: '62.50' }),
        professionalLine(3, { procedureCode: '80061', charge: '48.25', diagnosisPointers: [2] }), professionalLine(4, { procedureCode: '36415', charge: '36.65', diagnosisPointers: [2] }),
      ],
    });
    // Each claim its own control number, member id and line ids, set in SQL from the row number.
    await ds.query(
      `INSERT INTO claim (patient_control_number, encounter_id, patient_id, payer_id, billing_provider_id, facility_id, claim_type, status, total_charge, service_from, service_to, payload, scrubbed_version)
       SELECT 'B' || g, $2, $3, $4, $5, $6, 'professional', 'ready', 332.40, '2024-01-05', '2024-01-05',
              jsonb_set(jsonb_set(jsonb_set($1::jsonb, '{patientControlNumber}', to_jsonb('B' || g)), '{subscriber,memberId}', to_jsonb('M' || g)),
                        '{lines}', (SELECT jsonb_agg(jsonb_set(l, '{controlNumber}', to_jsonb(g || '-' || n))) FROM jsonb_array_elements($1::jsonb -> 'lines') WITH ORDINALITY AS x(l, n))), 1
         FROM generate_series(1, $7::int) AS g`,
      [JSON.stringify(template), e?.id, p?.id, ids?.payer, ids?.provider, ids?.facility, claims],
    );
    await ds.query('ANALYZE claim');
    const child = fork(join(__dirname, 'batch-child.ts'), [], { execArgv: ['-r', join(__dirname, '..', 'support', 'ts-register.js')] });
    const r = await new Promise<{ seconds: number; peakRssMb: number; batches: { id: string; bytes: number }[] }>((resolve, reject) => {
      child.once('message', (m) => {
        resolve(m as { seconds: number; peakRssMb: number; batches: { id: string; bytes: number }[] });
      });
      child.once('error', reject);
      child.send({ url });
    });
    let claimsInFiles = 0;
    for (const b of r.batches) {
      const parts = await ds.query<{ bytes: Buffer }[]>(`SELECT bytes FROM claim_batch_file WHERE batch_id = $1 ORDER BY part`, [b.id]);
      for await (const s of streamX12(Readable.from(parts.map((x) => x.bytes)))) if (s.id === 'CLM') claimsInFiles++;
    }
    return { claims, seconds: r.seconds, peakRssMb: r.peakRssMb, files: r.batches.length, bytes: r.batches.reduce((n, b) => n + b.bytes, 0), claimsInFiles };
  } finally {
    if (ds.isInitialized) await ds.destroy();
    await drop();
  }
}
