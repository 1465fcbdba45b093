import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { MESSAGE_STATUSES, type MessageStatus } from '../../intake/inbound-message.entity';

export class ListMessagesQuery {
  @ApiPropertyOptional({ enum: MESSAGE_STATUSES })
  @IsOptional() @IsIn(MESSAGE_STATUSES)
  status?: MessageStatus;

  @ApiPropertyOptional({ description: 'Message type, or type^event: DFT, ADT^A08' })
  @IsOptional() @IsString() @Matches(/^[A-Z0-9]{1,3}(\^[A-Z0-9]{1,3})?$/, { message: 'type must look like DFT or ADT^A08' })
  type?: string;

  @ApiPropertyOptional({ description: 'MSH-10' })
  @IsOptional() @IsString() @MaxLength(200)
  controlId?: string;

  @ApiPropertyOptional({ default: 50, maximum: 500 })
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(500)
  limit = 50;

  @ApiPropertyOptional({ default: 0 })
  @IsOptional() @Type(() => Number) @IsInt() @Min(0)
  offset = 0;
}
