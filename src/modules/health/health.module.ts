import { Module } from '@nestjs/common';
import { MllpModule } from '../mllp/mllp.module';
import { HealthController } from './health.controller';

@Module({ imports: [MllpModule], controllers: [HealthController] })
export class HealthModule {}
