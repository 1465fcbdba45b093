import { Module } from '@nestjs/common';
import { IntakeModule } from '../intake/intake.module';
import { MllpServer } from './mllp.server';

@Module({ imports: [IntakeModule], providers: [MllpServer], exports: [MllpServer] })
export class MllpModule {}
