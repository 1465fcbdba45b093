import 'reflect-metadata';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { InboundMessageEntity } from '../modules/intake/inbound-message.entity';
import { PatientEntity } from '../modules/encounters/patient.entity';
import { EncounterEntity } from '../modules/encounters/encounter.entity';
import { CoverageEntity } from '../modules/encounters/coverage.entity';
import { DiagnosisEntity } from '../modules/encounters/diagnosis.entity';
import { ProcedureEntity } from '../modules/encounters/procedure.entity';
import { ChargeEntity } from '../modules/encounters/charge.entity';
import { ChargemasterItemEntity } from '../modules/encounters/chargemaster-item.entity';

export const ENTITIES = [
  InboundMessageEntity, PatientEntity, EncounterEntity, CoverageEntity, DiagnosisEntity, ProcedureEntity, ChargeEntity, ChargemasterItemEntity,
];

/** Source migrations (migrations/*.ts) when running from src under jest/swc, compiled ones (dist/migrations/*.js) otherwise. */
export const MIGRATIONS_GLOB = __filename.endsWith('.ts')
  ? join(__dirname, '..', '..', 'migrations', '*.ts')
  : join(__dirname, '..', 'migrations', '*.js');

/**
 * The one DataSource definition used by the service, the CLI and the migration command.
 * Never `synchronize`: the schema comes from reviewed migrations.
 */
export function createDataSource(url: string, poolSize: number): DataSource {
  return new DataSource({
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: [MIGRATIONS_GLOB],
    migrationsTableName: 'schema_migration',
    synchronize: false,
    migrationsRun: false,
    logging: false,
    extra: { max: poolSize, connectionTimeoutMillis: 10_000 },
  });
}
