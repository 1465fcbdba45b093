import { Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ListDenialsQuery } from '../remittance/dto/remittance.dto';
import { RemittanceQueries } from '../remittance/remittance.queries';
import { WorkItemsService } from './work-items.service';

@ApiTags('denials')
@ApiBearerAuth()
@Controller('api/denials')
export class DenialsController {
  constructor(private readonly queries: RemittanceQueries) {}

  @Get()
  @ApiOperation({ summary: 'Denial records: each denied or short-paid claim or line, with its CARCs (group explained), RARCs, amount not paid and dates; updated by later payments and reversals' })
  async list(@Query() q: ListDenialsQuery) {
    const r = await this.queries.denials({ payerId: q.payerId, carc: q.carc, status: q.status, claimId: q.claimId, limit: q.limit, offset: q.offset });
    return { ...r, limit: q.limit, offset: q.offset };
  }
}

@ApiTags('work')
@ApiBearerAuth()
@Controller('api/work')
export class WorkController {
  constructor(private readonly work: WorkItemsService) {}

  @Post('sweep')
  @HttpCode(200)
  @ApiOperation({ summary: 'Open no-response work items now (claims sent and not answered by an 835 within their payer\'s days); the service also does it every WORK_SWEEP_MINUTES' })
  async sweep(): Promise<{ opened: number }> {
    return { opened: await this.work.sweep() };
  }
}
