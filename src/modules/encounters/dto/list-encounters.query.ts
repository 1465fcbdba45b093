import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';

export class ListEncountersQuery {
  @ApiPropertyOptional({ description: 'PV1-19 visit number' })
  @IsOptional() @IsString() @MaxLength(200)
  visitNumber?: string;

  @ApiPropertyOptional({ description: 'Patient MRN (PID-3)' })
  @IsOptional() @IsString() @MaxLength(200)
  mrn?: string;

  @ApiPropertyOptional({ default: 50, maximum: 500 })
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(500)
  limit = 50;

  @ApiPropertyOptional({ default: 0 })
  @IsOptional() @Type(() => Number) @IsInt() @Min(0)
  offset = 0;
}
