import { ApiActor, ApiRoles } from '../../common/auth.guard';
import { Body, Controller, Get, Param, Patch } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { domainApiException } from '../../common/api.exception';
import { CodeSetsService } from './codesets.service';
import { PatchRuleBody } from './dto/scrubber.dto';
import { ScrubError, ScrubberService } from './scrubber.service';

export function scrubApiError(e: unknown): never {
  if (e instanceof ScrubError) throw domainApiException(e.code, e.message);
  throw e;
}

@ApiTags('scrubber')
@ApiBearerAuth()
@Controller('api')
export class RulesController {
  constructor(
    private readonly scrubber: ScrubberService,
    private readonly codeSets: CodeSetsService,
  ) {}

  @Get('rules')
  @ApiOperation({ summary: 'The scrubber rules with their defaults and the settings per payer' })
  async rules() {
    return { items: await this.scrubber.rules() };
  }

  @Patch('rules/:id')
  @ApiRoles('admin')
  @ApiOperation({ summary: 'Enable/disable a rule, change its severity or parameters, for one payer or all; unbatched claims are scrubbed again' })
  async patch(@Param('id') id: string, @Body() body: PatchRuleBody, @ApiActor() actor: string) {
    try {
      return await this.scrubber.configure(id, { payer: body.payerId, enabled: body.enabled, severity: body.severity, params: body.params }, actor);
    } catch (e) {
      scrubApiError(e);
    }
  }

  @Get('codesets')
  @ApiOperation({ summary: 'The code sets loaded (shipped and imported)' })
  codesets() {
    return this.codeSets.list();
  }
}
