import { Module } from '@nestjs/common';
import { IntakeConnections } from './intake.connections';
import { IntakeRepository } from './intake.repository';
import { IntakeService } from './intake.service';

@Module({
  providers: [IntakeConnections, IntakeRepository, IntakeService],
  exports: [IntakeService, IntakeRepository],
})
export class IntakeModule {}
