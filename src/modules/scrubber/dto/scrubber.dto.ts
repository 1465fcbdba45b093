import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsBoolean, IsIn, IsInt, IsObject, IsOptional, IsString, Matches, MaxLength, Min, MinLength } from 'class-validator';

export class PatchRuleBody {
  @ApiPropertyOptional({ description: 'The payer (practice setup payerId or key) this setting is for; every payer when omitted' })
  @IsOptional() @IsString() @MaxLength(80)
  payerId?: string;

  @ApiPropertyOptional()
  @IsOptional() @IsBoolean()
  enabled?: boolean;

  @ApiPropertyOptional({ enum: ['error', 'warning'], description: 'error holds the claim, warning flags it' })
  @IsOptional() @IsIn(['error', 'warning'])
  severity?: 'error' | 'warning';

  @ApiPropertyOptional({ description: 'Rule parameters, e.g. {"days": 90} for timely-filing', type: Object })
  @IsOptional() @IsObject()
  params?: Record<string, unknown>;
}

export class OverrideBody {
  @ApiProperty({ description: 'The rule whose finding is overridden' })
  @IsString() @Matches(/^[a-z0-9-]{1,60}$/)
  ruleId!: string;

  @ApiPropertyOptional({ description: 'Only the finding on this service line (1-based)' })
  @IsOptional() @IsInt() @Min(1)
  line?: number;

  @ApiPropertyOptional({ description: 'Only the finding about this value (a code, a modifier)' })
  @IsOptional() @IsString() @MaxLength(80)
  value?: string;

  @ApiProperty({ description: 'Why the claim may go out as it is (kept with who made the override)' })
  @IsString() @MinLength(3) @MaxLength(1000)
  reason!: string;
}

export class ScrubBody {
  @ApiPropertyOptional({ type: [String], description: 'Stored claims to scrub (any status); nothing is changed' })
  @IsOptional() @IsArray() @ArrayMaxSize(10_000) @Matches(/^\d{1,18}$/, { each: true, message: 'claimIds must be numeric ids' })
  claimIds?: string[];

  @ApiPropertyOptional({ type: [String], description: 'Encounters whose claims are built (not saved) and scrubbed' })
  @IsOptional() @IsArray() @ArrayMaxSize(1_000) @Matches(/^\d{1,18}$/, { each: true, message: 'encounterIds must be numeric ids' })
  encounterIds?: string[];
}
