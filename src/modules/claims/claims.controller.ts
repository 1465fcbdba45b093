import { ApiActor } from '../../common/auth.guard';
import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrorCode, ApiException, domainApiException } from '../../common/api.exception';
import { BuildClaimsBody, CorrectClaimBody, ListClaimsQuery } from './dto/claims.dto';
import { ClaimsRepository, CorrectionError } from './claims.repository';
import { ClaimsService } from './claims.service';
import { OverrideBody } from '../scrubber/dto/scrubber.dto';
import { scrubApiError } from '../scrubber/rules.controller';
import { ScrubberService } from '../scrubber/scrubber.service';
import { RemittanceQueries } from '../remittance/remittance.queries';

@ApiTags('claims')
@ApiBearerAuth()
@Controller('api/claims')
export class ClaimsController {
  constructor(
    private readonly claims: ClaimsService,
    private readonly repository: ClaimsRepository,
    private readonly scrubber: ScrubberService,
    private readonly remittances: RemittanceQueries,
  ) {}

  @Post('build')
  @HttpCode(200)
  @ApiOperation({ summary: 'Build claims from encounters with unbilled charges: {created, updated, ready, held, ...}' })
  build(@Body() body: BuildClaimsBody, @ApiActor() actor: string) {
    return this.claims.build({ encounterIds: body.encounterIds, actor });
  }

  @Get()
  @ApiOperation({ summary: 'Claims by status and payer, newest first' })
  async list(@Query() q: ListClaimsQuery) {
    const { items, total } = await this.repository.list({ status: q.status, payerId: q.payerId, limit: q.limit, offset: q.offset });
    return { items, total, limit: q.limit, offset: q.offset };
  }

  @Get(':id')
  @ApiOperation({ summary: 'A claim with its lines (and their payment status), diagnoses, problems, history, batch, payments (835) and balance' })
  async get(@Param('id') id: string) {
    if (!/^\d{1,18}$/.test(id)) throw new ApiException(ApiErrorCode.BadRequest, 'id must be a number');
    const claim = await this.repository.get(id);
    if (!claim) throw new ApiException(ApiErrorCode.NotFound, `claim ${id} does not exist`);
    const [scrub, money] = await Promise.all([this.scrubber.findingsOf(id), this.remittances.claimMoney(id)]);
    const lineStatus = new Map(money.lineStatuses.map((l) => [l.lineId, l]));
    return {
      ...claim,
      lines: claim.lines.map((l) => ({ ...l, paymentStatus: lineStatus.get(l.id)?.status ?? 'pending', paid: lineStatus.get(l.id)?.paid ?? '0.00' })),
      payments: money.payments,
      balance: money.balance,
      version: scrub.version,
      scrubbedVersion: scrub.scrubbedVersion,
      findings: scrub.findings.map((f) => ({
        ruleId: f.ruleId, severity: f.severity, line: f.line ?? null, loop: f.loop, value: f.value ?? null, message: f.message, carc: f.carc,
        overridden: f.override ? { reason: f.override.reason, actor: f.override.actor, at: f.override.createdAt } : null,
      })),
      overrides: scrub.overrides,
    };
  }

  @Post(':id/overrides')
  @HttpCode(200)
  @ApiOperation({ summary: 'Override a scrubber error on an unbatched claim (rule, optionally line and value) with a reason; the claim is scrubbed again' })
  async override(@Param('id') id: string, @Body() body: OverrideBody, @ApiActor() actor: string) {
    if (!/^\d{1,18}$/.test(id)) throw new ApiException(ApiErrorCode.BadRequest, 'id must be a number');
    try {
      const o = await this.scrubber.override(id, { ruleId: body.ruleId, line: body.line, value: body.value, reason: body.reason }, actor);
      return { claimId: o.claimId, status: o.status, errors: o.errors, warnings: o.warnings, overridden: o.overridden };
    } catch (e) {
      scrubApiError(e);
    }
  }

  @Post(':id/corrections')
  @HttpCode(200)
  @ApiOperation({ summary: 'Replace (frequency 7) or void (8) a claim the payer has: a new claim with REF*F8, the original becomes replaced' })
  async correct(@Param('id') id: string, @Body() body: CorrectClaimBody, @ApiActor() actor: string) {
    if (!/^\d{1,18}$/.test(id)) throw new ApiException(ApiErrorCode.BadRequest, 'id must be a number');
    try {
      return await this.claims.correct(id, body.frequency, actor);
    } catch (e) {
      if (e instanceof CorrectionError) throw domainApiException(e.code, e.message);
      throw e;
    }
  }
}
