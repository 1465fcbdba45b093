import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrorCode, ApiException } from '../../common/api.exception';
import { decodeWithCharset, type Hl7Charset } from '../../lib/hl7v2';
import { IntakeService, ReprocessError } from '../intake/intake.service';
import { ListMessagesQuery } from './dto/list-messages.query';
import { MessagesRepository } from './messages.repository';

const ID = /^\d{1,18}$/;

@ApiTags('messages')
@ApiBearerAuth()
@Controller('api/messages')
export class MessagesController {
  constructor(
    private readonly messages: MessagesRepository,
    private readonly intake: IntakeService,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Inbound messages, newest first, filtered by status, type or control id' })
  async list(@Query() q: ListMessagesQuery) {
    const { items, total } = await this.messages.list(q);
    return {
      items: items.map((m) => ({
        id: m.id,
        controlId: m.controlId,
        type: m.triggerEvent ? `${m.messageType}^${m.triggerEvent}` : m.messageType,
        status: m.status,
        receivedAt: m.receivedAt,
        error: m.error,
        errorLocation: m.errorLocation,
        duplicateOfId: m.duplicateOfId,
        controlIdReused: m.controlIdReused,
        source: m.source,
      })),
      total,
      limit: q.limit,
      offset: q.offset,
    };
  }

  @Get(':id')
  @ApiOperation({ summary: 'One message with its raw text and what became of it' })
  async get(@Param('id') id: string) {
    if (!ID.test(id)) throw new ApiException(ApiErrorCode.BadRequest, 'id must be a number');
    const m = await this.messages.findById(id);
    if (!m) throw new ApiException(ApiErrorCode.NotFound, `message ${id} does not exist`);
    return {
      id: m.id,
      controlId: m.controlId,
      type: m.triggerEvent ? `${m.messageType}^${m.triggerEvent}` : m.messageType,
      version: m.version,
      sendingApplication: m.sendingApplication,
      sendingFacility: m.sendingFacility,
      source: m.source,
      connectionId: m.connectionId,
      receivedAt: m.receivedAt,
      processedAt: m.processedAt,
      status: m.status,
      ackCode: m.ackCode,
      error: m.error,
      errorLocation: m.errorLocation,
      warnings: m.warnings ?? [],
      duplicateOfId: m.duplicateOfId,
      controlIdReused: m.controlIdReused,
      attempts: m.attempts,
      batchControlId: m.batchControlId,
      patientId: m.patientId,
      encounterId: m.encounterId,
      charges: await this.messages.chargeCount(id),
      charset: m.charset,
      raw: decodeWithCharset(m.raw, m.charset as Hl7Charset),
    };
  }

  @Post(':id/reprocess')
  @HttpCode(200)
  @ApiOperation({ summary: 'Re-run a message in status error (after a fix); applies nothing twice' })
  async reprocess(@Param('id') id: string) {
    if (!ID.test(id)) throw new ApiException(ApiErrorCode.BadRequest, 'id must be a number');
    try {
      const r = await this.intake.reprocess(id);
      return { id: r.messageId, previousStatus: r.previousStatus, status: r.status, error: r.error ?? null, errorLocation: r.errorLocation ?? null, charges: r.charges, warnings: r.warnings };
    } catch (e) {
      if (e instanceof ReprocessError) throw new ApiException(e.code === 'not_found' ? ApiErrorCode.NotFound : ApiErrorCode.Conflict, e.message);
      throw e;
    }
  }
}
