import { ApiPropertyOptional } from '@nestjs/swagger';
import { PageQuery } from '../../../common/page.query';
import { IsOptional, IsString, MaxLength } from 'class-validator';

export class ListEncountersQuery extends PageQuery {
  @ApiPropertyOptional({ description: 'PV1-19 visit number' })
  @IsOptional() @IsString() @MaxLength(200)
  visitNumber?: string;

  @ApiPropertyOptional({ description: 'Patient MRN (PID-3)' })
  @IsOptional() @IsString() @MaxLength(200)
  mrn?: string;
}
