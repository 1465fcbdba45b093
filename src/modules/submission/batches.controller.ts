import { ApiActor } from '../../common/auth.guard';
import { Body, Controller, Get, HttpCode, Param, Post, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString } from 'class-validator';
import type { Response } from 'express';
import { ApiErrorCode, ApiException } from '../../common/api.exception';
import { BatchesService } from './batches.service';

export class CreateBatchesBody {
  @ApiPropertyOptional({ description: 'Clearinghouse key from the practice setup; every clearinghouse with ready claims when omitted' })
  @IsOptional() @IsString()
  clearinghouse?: string;

  @ApiPropertyOptional({ enum: ['professional', 'institutional'] })
  @IsOptional() @IsIn(['professional', 'institutional'])
  claimType?: 'professional' | 'institutional';
}

const id = (v: string): string => {
  if (!/^\d{1,18}$/.test(v)) throw new ApiException(ApiErrorCode.BadRequest, 'id must be a number');
  return v;
};

@ApiTags('batches')
@ApiBearerAuth()
@Controller('api/batches')
export class BatchesController {
  constructor(private readonly batches: BatchesService) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({ summary: 'Batch every ready claim: one 837 file per clearinghouse and claim type' })
  async create(@Body() body: CreateBatchesBody, @ApiActor() actor: string) {
    return { batches: await this.batches.create({ actor, clearinghouse: body.clearinghouse, claimType: body.claimType }) };
  }

  @Get(':id')
  @ApiOperation({ summary: 'A batch: control numbers, file size and hash, claims, delivery and acknowledgement status' })
  async get(@Param('id') batchId: string) {
    const b = await this.batches.get(id(batchId));
    if (!b) throw new ApiException(ApiErrorCode.NotFound, `batch ${batchId} does not exist`);
    return b;
  }

  @Get(':id/file')
  @ApiOperation({ summary: 'The exact X12 bytes of the batch file' })
  async file(@Param('id') batchId: string, @Res() res: Response): Promise<void> {
    const b = await this.batches.get(id(batchId));
    if (!b) throw new ApiException(ApiErrorCode.NotFound, `batch ${batchId} does not exist`);
    res.setHeader('content-type', 'application/edi-x12');
    res.setHeader('content-disposition', `attachment; filename="${String(b.fileName)}"`);
    res.setHeader('content-length', String(b.bytes));
    for await (const part of this.batches.file(batchId)) res.write(part);
    res.end();
  }
}
