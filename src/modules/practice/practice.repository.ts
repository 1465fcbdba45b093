import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { PracticeSetupDto } from './practice.setup';

export interface AppliedSetup {
  clearinghouses: number;
  billingProviders: number;
  payers: number;
  facilities: number;
  chargemaster: number;
}

/** Writes the practice setup: every entry upserted by its key, all or nothing. */
@Injectable()
export class PracticeRepository {
  constructor(private readonly dataSource: DataSource) {}

  async apply(s: PracticeSetupDto): Promise<AppliedSetup> {
    return this.dataSource.transaction(async (em) => {
      const q = <T>(sql: string, params: unknown[]): Promise<T[]> => em.query<T[]>(sql, params);
      const clearinghouseIds = new Map<string, string>();
      for (const c of s.clearinghouses) {
        const [row] = await q<{ id: string }>(
          `INSERT INTO practice_clearinghouse (key, name, receiver_id, isa_sender_qualifier, isa_sender_id, isa_receiver_qualifier, isa_receiver_id,
                                               gs_sender_code, gs_receiver_code, usage, ack_requested, submitter, delimiters, delivery)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
           ON CONFLICT (key) DO UPDATE SET name = EXCLUDED.name, receiver_id = EXCLUDED.receiver_id, isa_sender_qualifier = EXCLUDED.isa_sender_qualifier,
             isa_sender_id = EXCLUDED.isa_sender_id, isa_receiver_qualifier = EXCLUDED.isa_receiver_qualifier, isa_receiver_id = EXCLUDED.isa_receiver_id,
             gs_sender_code = EXCLUDED.gs_sender_code, gs_receiver_code = EXCLUDED.gs_receiver_code, usage = EXCLUDED.usage,
             ack_requested = EXCLUDED.ack_requested, submitter = EXCLUDED.submitter, delimiters = EXCLUDED.delimiters, delivery = EXCLUDED.delivery, updated_at = now()
           RETURNING id`,
          [c.key, c.name, c.receiverId, c.isa.senderQualifier, c.isa.senderId, c.isa.receiverQualifier, c.isa.receiverId, c.gs.senderCode, c.gs.receiverCode,
            c.usage, c.ackRequested, JSON.stringify({ name: s.submitter.name, id: s.submitter.id, contactName: s.submitter.contact.name, phone: s.submitter.contact.phone, email: s.submitter.contact.email }),
            JSON.stringify(c.delimiters), JSON.stringify(c.delivery)],
        );
        clearinghouseIds.set(c.key, (row as { id: string }).id);
      }
      const providerIds = new Map<string, string>();
      for (const p of s.billingProviders) {
        const [row] = await q<{ id: string }>(
          `INSERT INTO practice_billing_provider (key, kind, name, first_name, npi, tax_id, tax_id_type, taxonomy, address, pay_to_address)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (key) DO UPDATE SET kind = EXCLUDED.kind, name = EXCLUDED.name, first_name = EXCLUDED.first_name, npi = EXCLUDED.npi, tax_id = EXCLUDED.tax_id,
             tax_id_type = EXCLUDED.tax_id_type, taxonomy = EXCLUDED.taxonomy, address = EXCLUDED.address, pay_to_address = EXCLUDED.pay_to_address, updated_at = now()
           RETURNING id`,
          [p.key, p.kind, p.name, p.firstName ?? null, p.npi, p.taxId, p.taxIdType, p.taxonomy ?? null, JSON.stringify(p.address), p.payToAddress ? JSON.stringify(p.payToAddress) : null],
        );
        providerIds.set(p.key, (row as { id: string }).id);
      }
      for (const p of s.payers) {
        const [row] = await q<{ id: string }>(
          `INSERT INTO practice_payer (key, payer_id, name, claim_filing_indicator, clearinghouse_id, hl7_ids, address, remit_ids)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (key) DO UPDATE SET payer_id = EXCLUDED.payer_id, name = EXCLUDED.name, claim_filing_indicator = EXCLUDED.claim_filing_indicator,
             clearinghouse_id = EXCLUDED.clearinghouse_id, hl7_ids = EXCLUDED.hl7_ids, address = EXCLUDED.address, remit_ids = EXCLUDED.remit_ids, updated_at = now()
           RETURNING id`,
          [p.key, p.payerId, p.name, p.claimFilingIndicator, clearinghouseIds.get(p.clearinghouse), p.hl7Ids, p.address ? JSON.stringify(p.address) : null, p.remitIds],
        );
        const payerRowId = (row as { id: string }).id;
        // The fee schedule is the file's: replaced whole.
        await q(`DELETE FROM practice_fee_schedule WHERE payer_id = $1`, [payerRowId]);
        if (p.feeSchedule.length > 0) {
          await q(
            `INSERT INTO practice_fee_schedule (payer_id, code, modifier, allowed) SELECT $1, code, modifier, allowed FROM unnest($2::text[], $3::text[], $4::numeric[]) AS f(code, modifier, allowed)`,
            [payerRowId, p.feeSchedule.map((f) => f.code), p.feeSchedule.map((f) => f.modifier ?? ''), p.feeSchedule.map((f) => f.allowed)],
          );
        }
      }
      // One default facility at most: the file says which (validated), earlier defaults are cleared.
      await q(`UPDATE practice_facility SET is_default = false WHERE is_default`, []);
      for (const f of s.facilities) {
        await q(
          `INSERT INTO practice_facility (key, hl7_codes, claim_type, place_of_service, type_of_bill, inpatient_type_of_bill, billing_provider_id, service_facility, is_default)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (key) DO UPDATE SET hl7_codes = EXCLUDED.hl7_codes, claim_type = EXCLUDED.claim_type, place_of_service = EXCLUDED.place_of_service,
             type_of_bill = EXCLUDED.type_of_bill, inpatient_type_of_bill = EXCLUDED.inpatient_type_of_bill, billing_provider_id = EXCLUDED.billing_provider_id,
             service_facility = EXCLUDED.service_facility, is_default = EXCLUDED.is_default, updated_at = now()`,
          [f.key, f.hl7Codes, f.claimType, f.placeOfService ?? null, f.typeOfBill ?? null, f.inpatientTypeOfBill ?? null, providerIds.get(f.billingProvider),
            f.serviceFacility ? JSON.stringify(f.serviceFacility) : null, f.default],
        );
      }
      for (const c of s.chargemaster) {
        await q(
          `INSERT INTO chargemaster_item (transaction_code, procedure_code, modifiers, revenue_code, description, price)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (transaction_code) DO UPDATE SET procedure_code = EXCLUDED.procedure_code, modifiers = EXCLUDED.modifiers, revenue_code = EXCLUDED.revenue_code,
             description = EXCLUDED.description, price = EXCLUDED.price, updated_at = now()`,
          [c.transactionCode, c.procedureCode ?? null, c.modifiers, c.revenueCode ?? null, c.description ?? null, c.price],
        );
      }
      return { clearinghouses: s.clearinghouses.length, billingProviders: s.billingProviders.length, payers: s.payers.length, facilities: s.facilities.length, chargemaster: s.chargemaster.length };
    });
  }
}
