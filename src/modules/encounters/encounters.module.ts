import { Module } from '@nestjs/common';
import { EncountersController } from './encounters.controller';
import { EncountersRepository } from './encounters.repository';
import { ScrubberModule } from '../scrubber/scrubber.module';

@Module({ imports: [ScrubberModule], controllers: [EncountersController], providers: [EncountersRepository], exports: [EncountersRepository] })
export class EncountersModule {}
