import { ApiActor } from '../../common/auth.guard';
import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsBoolean, IsOptional } from 'class-validator';
import { ApiErrorCode, ApiException } from '../../common/api.exception';
import { DeliveryError, SubmissionService } from './submission.service';

export class DeliverBody {
  @ApiPropertyOptional({ description: 'Deliver an already delivered batch again, byte for byte' })
  @IsOptional() @IsBoolean()
  replay?: boolean;
}

@ApiTags('batches')
@ApiBearerAuth()
@Controller('api')
export class SubmissionController {
  constructor(private readonly submission: SubmissionService) {}

  @Post('batches/:id/deliver')
  @HttpCode(200)
  @ApiOperation({ summary: 'Deliver a batch to its clearinghouse (replay: the same bytes again, nothing created twice)' })
  async deliver(@Param('id') id: string, @Body() body: DeliverBody, @ApiActor() actor: string) {
    if (!/^\d{1,18}$/.test(id)) throw new ApiException(ApiErrorCode.BadRequest, 'id must be a number');
    try {
      return await this.submission.deliver(id, { replay: body.replay === true, actor });
    } catch (e) {
      if (e instanceof DeliveryError) throw new ApiException(ApiErrorCode.NotFound, e.message);
      throw e;
    }
  }

  @Post('submission/run')
  @HttpCode(200)
  @ApiOperation({ summary: 'Run the submission job once: build, batch, deliver, fetch responses (ran: false when another instance is running it)' })
  run(@ApiActor() actor: string) {
    return this.submission.runOnce(actor);
  }
}
