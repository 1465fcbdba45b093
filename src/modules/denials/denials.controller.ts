import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ListDenialsQuery } from '../remittance/dto/remittance.dto';
import { RemittanceQueries } from '../remittance/remittance.queries';

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
