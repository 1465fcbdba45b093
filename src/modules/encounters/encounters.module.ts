import { Module } from '@nestjs/common';
import { EncountersController } from './encounters.controller';
import { EncountersRepository } from './encounters.repository';

@Module({ controllers: [EncountersController], providers: [EncountersRepository], exports: [EncountersRepository] })
export class EncountersModule {}
