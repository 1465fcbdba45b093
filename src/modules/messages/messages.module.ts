import { Module } from '@nestjs/common';
import { IntakeModule } from '../intake/intake.module';
import { MessagesController } from './messages.controller';
import { MessagesRepository } from './messages.repository';

@Module({ imports: [IntakeModule], controllers: [MessagesController], providers: [MessagesRepository] })
export class MessagesModule {}
