import { Module } from '@nestjs/common';
import { RemittanceModule } from '../remittance/remittance.module';
import { DenialsController } from './denials.controller';

/** Denial records are written by remittance posting; this module reads them (the work queue builds on it). */
@Module({ imports: [RemittanceModule], controllers: [DenialsController] })
export class DenialsModule {}
