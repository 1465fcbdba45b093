import { ApiActor } from '../../common/auth.guard';
import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiConsumes, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ApiErrorCode, ApiException, domainApiException } from '../../common/api.exception';
import { PageQuery } from '../../common/page.query';
import { ListRemittancesQuery, MatchClaimBody, MatchLineBody } from './dto/remittance.dto';
import { RemittanceQueries } from './remittance.queries';
import { RemittanceMatchError, RemittanceService } from './remittance.service';
import { spool } from './source';

const ID = /^\d{1,18}$/;

function id(v: string, what = 'id'): string {
  if (!ID.test(v)) throw new ApiException(ApiErrorCode.BadRequest, `${what} must be a number`);
  return v;
}

function matchError(e: unknown): never {
  if (e instanceof RemittanceMatchError) throw domainApiException(e.code, e.message);
  throw e;
}

@ApiTags('remittances')
@ApiBearerAuth()
@Controller('api/remittances')
export class RemittanceController {
  constructor(
    private readonly remittances: RemittanceService,
    private readonly queries: RemittanceQueries,
  ) {}

  /**
   * The body is streamed to a temporary file (an 835 can be 100 MB), not parsed: the text body
   * parser leaves this route alone (see service.ts).
   */
  @Post()
  @HttpCode(200)
  @ApiOperation({ summary: 'Import an 835 (the X12 file as the body): matched, posted and balanced in one transaction; 422 with the reason (segment and element) when the file is refused' })
  @ApiConsumes('application/edi-x12', 'text/plain', 'application/octet-stream')
  @ApiBody({ schema: { type: 'string' } })
  @ApiQuery({ name: 'fileName', required: false })
  async import(@Req() req: Request, @Res({ passthrough: true }) res: Response, @ApiActor() actor: string, @Query('fileName') fileName?: string) {
    const file = await spool(req, fileName ?? null);
    try {
      if (file.size === 0) throw new ApiException(ApiErrorCode.BadRequest, 'send the 835 file as the request body (content-type application/edi-x12, text/plain or application/octet-stream)');
      const summary = await this.remittances.import(file.source, { actor });
      if (summary.refused) res.status(422);
      return summary;
    } finally {
      await file.done();
    }
  }

  @Get()
  @ApiOperation({ summary: 'Remittances (one per 835 transaction: a payment from a payer), newest payment first' })
  list(@Query() q: ListRemittancesQuery) {
    return this.queries.list({ payerId: q.payerId, from: q.from, to: q.to, limit: q.limit, offset: q.offset }).then((r) => ({ ...r, limit: q.limit, offset: q.offset }));
  }

  @Get('unmatched')
  @ApiOperation({ summary: 'The unmatched queue: claim payments that match no claim (or several, another payer\'s claim, a claim never sent, or could not be read), and service payments of matched claims that match no line' })
  unmatched(@Query() q: PageQuery) {
    return this.queries.unmatched({ limit: q.limit, offset: q.offset }).then((r) => ({ ...r, limit: q.limit, offset: q.offset }));
  }

  @Post('unmatched/:id/match')
  @HttpCode(200)
  @ApiOperation({ summary: 'Match an unmatched claim payment to a claim by hand: it is posted, its lines matched, the claim\'s status and denials follow' })
  matchClaim(@Param('id') paymentId: string, @Body() body: MatchClaimBody, @ApiActor() actor: string) {
    return this.remittances.matchClaimPayment(id(paymentId), body.claimId, actor).catch(matchError);
  }

  @Post('unmatched-lines/:id/match')
  @HttpCode(200)
  @ApiOperation({ summary: 'Match an unmatched service payment (of a matched claim payment) to a line of its claim by hand' })
  matchLine(@Param('id') servicePaymentId: string, @Body() body: MatchLineBody, @ApiActor() actor: string) {
    return this.remittances.matchServicePayment(id(servicePaymentId), body.claimLineId, actor).catch(matchError);
  }

  @Get('files/:id')
  @ApiOperation({ summary: 'An 835 file as received: posted or refused (with the reason), its size, SHA-256 and import summary' })
  async file(@Param('id') fileId: string) {
    const f = await this.queries.file(id(fileId));
    if (!f) throw new ApiException(ApiErrorCode.NotFound, `remittance file ${fileId} does not exist`);
    return f;
  }

  @Get('files/:id/raw')
  @ApiOperation({ summary: 'The exact bytes of an 835 file as received' })
  async raw(@Param('id') fileId: string, @Res() res: Response): Promise<void> {
    const f = await this.queries.file(id(fileId));
    if (!f) throw new ApiException(ApiErrorCode.NotFound, `remittance file ${fileId} does not exist`);
    res.setHeader('content-type', 'application/edi-x12');
    res.setHeader('content-length', String(f.size));
    res.setHeader('content-disposition', `attachment; filename="${(f.fileName ?? `remittance-${f.id}.835`).replace(/["\\\r\n]/g, '_')}"`);
    for await (const part of this.queries.fileBytes(f.id)) res.write(part);
    res.end();
  }

  @Get(':id')
  @ApiOperation({ summary: 'A remittance (835 transaction): payment, trace, payer, claim payments (paged), provider adjustments (PLB), balancing results and exceptions, raw file link' })
  async get(@Param('id') transactionId: string, @Query() page: PageQuery) {
    const t = await this.queries.transaction(id(transactionId), { limit: page.limit, offset: page.offset });
    if (!t) throw new ApiException(ApiErrorCode.NotFound, `remittance ${transactionId} does not exist`);
    return t;
  }
}
