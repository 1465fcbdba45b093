import { Module } from '@nestjs/common';
import { CodeSetsService } from './codesets.service';
import { RulesController } from './rules.controller';
import { ScrubberRepository } from './scrubber.repository';
import { ScrubberService } from './scrubber.service';

@Module({ controllers: [RulesController], providers: [CodeSetsService, ScrubberRepository, ScrubberService], exports: [CodeSetsService, ScrubberService] })
export class ScrubberModule {}
