import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrorCode, ApiException } from '../../common/api.exception';
import { BuildClaimsBody, CorrectClaimBody, ListClaimsQuery } from './dto/claims.dto';
import { ClaimsRepository, CorrectionError } from './claims.repository';
import { ClaimsService } from './claims.service';

@ApiTags('claims')
@ApiBearerAuth()
@Controller('api/claims')
export class ClaimsController {
  constructor(
    private readonly claims: ClaimsService,
    private readonly repository: ClaimsRepository,
  ) {}

  @Post('build')
  @HttpCode(200)
  @ApiOperation({ summary: 'Build claims from encounters with unbilled charges: {created, updated, ready, held, ...}' })
  build(@Body() body: BuildClaimsBody) {
    return this.claims.build({ encounterIds: body.encounterIds, actor: 'api' });
  }

  @Get()
  @ApiOperation({ summary: 'Claims by status and payer, newest first' })
  async list(@Query() q: ListClaimsQuery) {
    const { items, total } = await this.repository.list({ status: q.status, payerId: q.payerId, limit: q.limit, offset: q.offset });
    return { items, total, limit: q.limit, offset: q.offset };
  }

  @Get(':id')
  @ApiOperation({ summary: 'A claim with its lines, diagnoses, problems, history and batch' })
  async get(@Param('id') id: string) {
    if (!/^\d{1,18}$/.test(id)) throw new ApiException(ApiErrorCode.BadRequest, 'id must be a number');
    const claim = await this.repository.get(id);
    if (!claim) throw new ApiException(ApiErrorCode.NotFound, `claim ${id} does not exist`);
    return claim;
  }

  @Post(':id/corrections')
  @HttpCode(200)
  @ApiOperation({ summary: 'Replace (frequency 7) or void (8) a claim the payer has: a new claim with REF*F8, the original becomes replaced' })
  async correct(@Param('id') id: string, @Body() body: CorrectClaimBody) {
    if (!/^\d{1,18}$/.test(id)) throw new ApiException(ApiErrorCode.BadRequest, 'id must be a number');
    try {
      return await this.claims.correct(id, body.frequency, 'api');
    } catch (e) {
      if (e instanceof CorrectionError) throw new ApiException(e.code === 'not_found' ? ApiErrorCode.NotFound : e.code === 'conflict' ? ApiErrorCode.Conflict : ApiErrorCode.BadRequest, e.message);
      throw e;
    }
  }
}
