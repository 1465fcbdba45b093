import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsIn, IsOptional, IsString, Matches } from 'class-validator';
import { PageQuery } from '../../../common/page.query';

export const CLAIM_STATUSES = ['draft', 'ready', 'held', 'batched', 'submitted', 'accepted', 'rejected', 'payer_accepted', 'payer_rejected', 'paid', 'partially_paid', 'denied', 'reversed', 'forwarded', 'replaced', 'cancelled'] as const;

export class BuildClaimsBody {
  @ApiPropertyOptional({ description: 'Encounter ids to build; all encounters with unbilled charges when omitted', type: [String] })
  @IsOptional() @IsArray() @ArrayMaxSize(10_000) @Matches(/^\d{1,18}$/, { each: true, message: 'encounterIds must be numeric ids' })
  encounterIds?: string[];
}

export class ListClaimsQuery extends PageQuery {
  @ApiPropertyOptional({ enum: CLAIM_STATUSES })
  @IsOptional() @IsIn(CLAIM_STATUSES)
  status?: (typeof CLAIM_STATUSES)[number];

  @ApiPropertyOptional({ description: 'X12 payer id (NM1*PR)' })
  @IsOptional() @IsString()
  payerId?: string;
}

export class CorrectClaimBody {
  @ApiProperty({ enum: ['7', '8'], description: '7 replacement of a prior claim, 8 void/cancel of a prior claim' })
  @IsIn(['7', '8'])
  frequency!: '7' | '8';
}
