import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrorCode, ApiException } from '../../common/api.exception';
import { ListEncountersQuery } from './dto/list-encounters.query';
import { EncountersRepository } from './encounters.repository';
import { scrubCharge } from '../../lib/scrub';
import { CodeSetsService } from '../scrubber/codesets.service';
import type { EncounterEntity } from './encounter.entity';
import type { PatientEntity } from './patient.entity';

function patientView(p: PatientEntity | undefined) {
  if (!p) return null;
  return {
    id: p.id, mrn: p.mrn, mrnAuthority: p.mrnAuthority, identifiers: p.identifiers ?? [], familyName: p.familyName, givenName: p.givenName,
    middleName: p.middleName, birthDate: p.birthDate, sex: p.sex, address: p.address, phone: p.phone, mergedIntoId: p.mergedIntoId,
  };
}

function encounterView(e: EncounterEntity) {
  return {
    id: e.id, visitNumber: e.visitNumber, accountNumber: e.accountNumber, keySource: e.keySource, status: e.status, patientClass: e.patientClass,
    admitType: e.admitType, admitSource: e.admitSource, hospitalService: e.hospitalService, financialClass: e.financialClass, facility: e.facility,
    location: e.location, attendingProvider: e.attendingProvider, referringProvider: e.referringProvider, admittingProvider: e.admittingProvider,
    admitAt: e.admitAt, dischargeAt: e.dischargeAt, dischargeDisposition: e.dischargeDisposition, patientId: e.patientId,
  };
}

@ApiTags('encounters')
@ApiBearerAuth()
@Controller('api/encounters')
export class EncountersController {
  constructor(
    private readonly encounters: EncountersRepository,
    private readonly codeSets: CodeSetsService,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Encounters by visit number or patient MRN' })
  async list(@Query() q: ListEncountersQuery) {
    const { items, total } = await this.encounters.list(q);
    return { items: items.map((e) => ({ ...encounterView(e), patient: patientView(e.patient) })), total, limit: q.limit, offset: q.offset };
  }

  @Get(':id')
  @ApiOperation({ summary: 'An encounter with its patient, coverages, diagnoses, procedures and charges' })
  async get(@Param('id') id: string) {
    if (!/^\d{1,18}$/.test(id)) throw new ApiException(ApiErrorCode.BadRequest, 'id must be a number');
    const d = await this.encounters.detail(id);
    if (!d) throw new ApiException(ApiErrorCode.NotFound, `encounter ${id} does not exist`);
    const codes = await this.codeSets.get();
    const today = new Date().toISOString().slice(0, 10);
    return {
      ...encounterView(d.encounter),
      guarantor: d.encounter.guarantor,
      patient: patientView(d.encounter.patient),
      coverages: d.coverages.map((c) => ({
        id: c.id, setId: c.setId, payerId: c.payerId, payerName: c.payerName, planId: c.planId, planType: c.planType, groupNumber: c.groupNumber,
        groupName: c.groupName, memberId: c.memberId, insuredName: c.insuredName, insuredRelationship: c.insuredRelationship,
        insuredBirthDate: c.insuredBirthDate, effectiveDate: c.effectiveDate, expirationDate: c.expirationDate,
      })),
      diagnoses: d.diagnoses.map((x) => ({ id: x.id, setId: x.setId, code: x.code, codingSystem: x.codingSystem, description: x.description, type: x.diagnosisType, priority: x.priority })),
      procedures: d.procedures.map((x) => ({ id: x.id, setId: x.setId, code: x.code, codingSystem: x.codingSystem, description: x.description, procedureAt: x.procedureAt })),
      charges: d.charges.map((c) => ({
        id: c.id, transactionId: c.transactionId, serviceDate: c.serviceDate, serviceEndDate: c.serviceEndDate, postingDate: c.postingDate,
        transactionType: c.transactionType, transactionCode: c.transactionCode, code: c.procedureCode ?? c.transactionCode, procedureCode: c.procedureCode,
        modifiers: c.modifiers, quantity: c.quantity, amount: c.amount, unitAmount: c.unitAmount, priceSource: c.priceSource, diagnosisCodes: c.diagnosisCodes,
        ndc: c.ndc, department: c.department, performingProvider: c.performingProvider, orderingProvider: c.orderingProvider, isCredit: c.isCredit,
        status: c.status, holdReason: c.holdReason, reversesChargeId: c.reversesChargeId, reversedByChargeId: c.reversedByChargeId, messageId: c.messageId,
        // The scrubber's line rules on the charge as it arrived (no claim needed); credits are not billed.
        findings: c.isCredit ? [] : scrubCharge(c, codes, today),
      })),
    };
  }
}
