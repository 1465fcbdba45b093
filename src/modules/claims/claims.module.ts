import { Module } from '@nestjs/common';
import { ScrubController } from '../scrubber/scrub.controller';
import { RemittanceModule } from '../remittance/remittance.module';
import { ScrubberModule } from '../scrubber/scrubber.module';
import { ClaimsController } from './claims.controller';
import { ClaimsRepository } from './claims.repository';
import { ClaimsService } from './claims.service';
import { SecondaryClaimsService } from './secondary-claims.service';

// The scrub endpoints live here: their dry run for encounters builds claims.
@Module({ imports: [ScrubberModule, RemittanceModule], controllers: [ClaimsController, ScrubController], providers: [ClaimsRepository, ClaimsService, SecondaryClaimsService], exports: [ClaimsService, ClaimsRepository] })
export class ClaimsModule {}
