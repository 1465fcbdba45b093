import { ApiActor } from '../../common/auth.guard';
import { Body, Controller, HttpCode, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiConsumes, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { ApiErrorCode, ApiException } from '../../common/api.exception';
import { X12ReadError } from '../../lib/x12';
import { AckMismatchError, AcknowledgementsService } from './acknowledgements.service';

@ApiTags('acknowledgements')
@ApiBearerAuth()
@Controller('api/acknowledgements')
export class AcknowledgementsController {
  constructor(private readonly acks: AcknowledgementsService) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({ summary: 'Import a 999 or 277CA file (the X12 text as the body): claims and batch move to their acknowledged status' })
  @ApiConsumes('application/edi-x12', 'text/plain')
  @ApiBody({ schema: { type: 'string' } })
  @ApiQuery({ name: 'fileName', required: false })
  async import(@Body() body: unknown, @ApiActor() actor: string, @Query('fileName') fileName?: string) {
    if (typeof body !== 'string' || body.trim() === '') {
      throw new ApiException(ApiErrorCode.BadRequest, 'send the X12 file as the request body with content-type application/edi-x12 or text/plain');
    }
    try {
      return await this.acks.import(Buffer.from(body, 'latin1'), { fileName, actor });
    } catch (e) {
      if (e instanceof X12ReadError || e instanceof AckMismatchError) throw new ApiException(ApiErrorCode.BadRequest, e.message);
      throw e;
    }
  }
}
