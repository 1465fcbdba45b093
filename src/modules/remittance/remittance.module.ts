import { Module } from '@nestjs/common';
import { ScrubberModule } from '../scrubber/scrubber.module';
import { RemittanceController } from './remittance.controller';
import { RemittanceQueries } from './remittance.queries';
import { RemittanceRepository } from './remittance.repository';
import { RemittanceService } from './remittance.service';

@Module({
  imports: [ScrubberModule],
  controllers: [RemittanceController],
  providers: [RemittanceRepository, RemittanceService, RemittanceQueries],
  exports: [RemittanceService, RemittanceQueries, RemittanceRepository],
})
export class RemittanceModule {}
