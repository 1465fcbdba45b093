import { ApiRoles } from '../../common/auth.guard';
import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrorCode, ApiException } from '../../common/api.exception';
import { ClaimsService } from '../claims/claims.service';
import { ScrubBody } from './dto/scrubber.dto';
import { ScrubberService } from './scrubber.service';

@ApiTags('scrubber')
@ApiBearerAuth()
@Controller('api/scrub')
export class ScrubController {
  constructor(
    private readonly scrubber: ScrubberService,
    private readonly claims: ClaimsService,
  ) {}

  @Post()
  // Changes nothing: a viewer's token may run it.
  @ApiRoles('viewer', 'biller', 'admin')
  @HttpCode(200)
  @ApiOperation({ summary: 'Dry run: scrub stored claims and/or the claims encounters would build now; nothing is changed' })
  async scrub(@Body() body: ScrubBody) {
    if ((body.claimIds?.length ?? 0) + (body.encounterIds?.length ?? 0) === 0) throw new ApiException(ApiErrorCode.BadRequest, 'give claimIds or encounterIds');
    return {
      claims: body.claimIds ? await this.scrubber.dryRun(body.claimIds) : [],
      encounters: body.encounterIds ? await this.claims.dryRunEncounters(body.encounterIds) : [],
    };
  }

  @Get('summary')
  @ApiOperation({ summary: 'Current findings counted by rule, payer and severity (overridden ones counted apart)' })
  async summary() {
    return { items: await this.scrubber.summary() };
  }
}
