import { Module } from '@nestjs/common';
import { MllpModule } from '../mllp/mllp.module';
import { ScrubberModule } from '../scrubber/scrubber.module';
import { HealthController } from './health.controller';

@Module({ imports: [MllpModule, ScrubberModule], controllers: [HealthController] })
export class HealthModule {}
