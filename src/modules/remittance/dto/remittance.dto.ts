import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches } from 'class-validator';
import { PageQuery } from '../../../common/page.query';

const DATE = { message: 'must be a date YYYY-MM-DD' };
const ID = /^\d{1,18}$/;

export class ListRemittancesQuery extends PageQuery {
  @ApiPropertyOptional({ description: 'The payer: its X12 payer id in the practice setup, or an id it sends on its 835s (TRN03, REF*2U)' })
  @IsOptional() @IsString()
  payerId?: string;

  @ApiPropertyOptional({ description: 'Payment date (BPR16) from, YYYY-MM-DD' })
  @IsOptional() @Matches(/^\d{4}-\d{2}-\d{2}$/, DATE)
  from?: string;

  @ApiPropertyOptional({ description: 'Payment date (BPR16) to, YYYY-MM-DD' })
  @IsOptional() @Matches(/^\d{4}-\d{2}-\d{2}$/, DATE)
  to?: string;
}

export class MatchClaimBody {
  @ApiProperty({ description: 'The claim this claim payment pays' })
  @Matches(ID, { message: 'claimId must be a numeric id' })
  claimId!: string;
}

export class MatchLineBody {
  @ApiProperty({ description: 'The line (of the claim the claim payment is matched to) this service payment pays' })
  @Matches(ID, { message: 'claimLineId must be a numeric id' })
  claimLineId!: string;
}

export class ListDenialsQuery extends PageQuery {
  @ApiPropertyOptional({ description: 'X12 payer id of the claim\'s payer' })
  @IsOptional() @IsString()
  payerId?: string;

  @ApiPropertyOptional({ description: 'A claim adjustment reason code among the denial\'s' })
  @IsOptional() @Matches(/^[A-Z0-9]{1,3}$/, { message: 'carc must be a claim adjustment reason code' })
  carc?: string;

  @ApiPropertyOptional({ enum: ['open', 'resolved', 'reversed'] })
  @IsOptional() @Matches(/^(open|resolved|reversed)$/, { message: 'status must be open, resolved or reversed' })
  status?: string;

  @ApiPropertyOptional({ description: 'Denials of one claim' })
  @IsOptional() @Matches(ID, { message: 'claimId must be a numeric id' })
  claimId?: string;
}
