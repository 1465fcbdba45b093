import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { InboundMessageEntity } from '../intake/inbound-message.entity';
import type { ListMessagesQuery } from './dto/list-messages.query';

@Injectable()
export class MessagesRepository {
  constructor(private readonly dataSource: DataSource) {}

  async list(q: ListMessagesQuery): Promise<{ items: InboundMessageEntity[]; total: number }> {
    const qb = this.dataSource
      .getRepository(InboundMessageEntity)
      .createQueryBuilder('m')
      .select(['m.id', 'm.controlId', 'm.messageType', 'm.triggerEvent', 'm.status', 'm.receivedAt', 'm.error', 'm.errorLocation', 'm.duplicateOfId', 'm.controlIdReused', 'm.source'])
      .orderBy('m.id', 'DESC')
      .limit(q.limit)
      .offset(q.offset);
    if (q.status !== undefined) qb.andWhere('m.status = :status', { status: q.status });
    if (q.controlId !== undefined) qb.andWhere('m.control_id = :ctl', { ctl: q.controlId });
    if (q.type !== undefined) {
      const [type, event] = q.type.split('^');
      qb.andWhere('m.message_type = :type', { type });
      if (event !== undefined) qb.andWhere('m.trigger_event = :event', { event });
    }
    const [items, total] = await qb.getManyAndCount();
    return { items, total };
  }

  findById(id: string): Promise<InboundMessageEntity | null> {
    return this.dataSource.getRepository(InboundMessageEntity).findOne({ where: { id } });
  }

  async chargeCount(id: string): Promise<number> {
    const r: { n: string }[] = await this.dataSource.query('SELECT count(*) AS n FROM charge WHERE message_id = $1', [id]);
    return Number(r[0]?.n ?? 0);
  }
}
