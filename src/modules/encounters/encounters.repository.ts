import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ChargeEntity } from './charge.entity';
import { CoverageEntity } from './coverage.entity';
import { DiagnosisEntity } from './diagnosis.entity';
import { EncounterEntity } from './encounter.entity';
import { ProcedureEntity } from './procedure.entity';
import type { ListEncountersQuery } from './dto/list-encounters.query';

@Injectable()
export class EncountersRepository {
  constructor(private readonly dataSource: DataSource) {}

  async list(q: ListEncountersQuery): Promise<{ items: EncounterEntity[]; total: number }> {
    const qb = this.dataSource
      .getRepository(EncounterEntity)
      .createQueryBuilder('e')
      .leftJoinAndSelect('e.patient', 'p')
      .orderBy('e.id', 'DESC')
      .take(q.limit)
      .skip(q.offset);
    if (q.visitNumber !== undefined) qb.andWhere('e.visit_number = :v', { v: q.visitNumber });
    if (q.mrn !== undefined) qb.andWhere('p.mrn = :mrn', { mrn: q.mrn });
    const [items, total] = await qb.getManyAndCount();
    return { items, total };
  }

  async detail(id: string): Promise<{ encounter: EncounterEntity; coverages: CoverageEntity[]; diagnoses: DiagnosisEntity[]; procedures: ProcedureEntity[]; charges: ChargeEntity[] } | undefined> {
    const encounter = await this.dataSource.getRepository(EncounterEntity).findOne({ where: { id }, relations: { patient: true } });
    if (!encounter) return undefined;
    const [coverages, diagnoses, procedures, charges] = await Promise.all([
      this.dataSource.getRepository(CoverageEntity).find({ where: { encounterId: id }, order: { setId: 'ASC' } }),
      this.dataSource.getRepository(DiagnosisEntity).find({ where: { encounterId: id }, order: { priority: 'ASC', setId: 'ASC', id: 'ASC' } }),
      this.dataSource.getRepository(ProcedureEntity).find({ where: { encounterId: id }, order: { setId: 'ASC', id: 'ASC' } }),
      this.dataSource.getRepository(ChargeEntity).find({ where: { encounterId: id }, order: { serviceDate: 'ASC', id: 'ASC' } }),
    ]);
    return { encounter, coverages, diagnoses, procedures, charges };
  }
}
