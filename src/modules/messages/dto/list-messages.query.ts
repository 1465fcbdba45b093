import { ApiPropertyOptional } from '@nestjs/swagger';
import { PageQuery } from '../../../common/page.query';
import { IsIn, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { MESSAGE_STATUSES, type MessageStatus } from '../../intake/inbound-message.entity';

export class ListMessagesQuery extends PageQuery {
  @ApiPropertyOptional({ enum: MESSAGE_STATUSES })
  @IsOptional() @IsIn(MESSAGE_STATUSES)
  status?: MessageStatus;

  @ApiPropertyOptional({ description: 'Message type, or type^event: DFT, ADT^A08' })
  @IsOptional() @IsString() @Matches(/^[A-Z0-9]{1,3}(\^[A-Z0-9]{1,3})?$/, { message: 'type must look like DFT or ADT^A08' })
  type?: string;

  @ApiPropertyOptional({ description: 'MSH-10' })
  @IsOptional() @IsString() @MaxLength(200)
  controlId?: string;
}
