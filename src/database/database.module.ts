import { DynamicModule, Global, Module } from '@nestjs/common';
import { DataSource } from 'typeorm';

/** Provides the one DataSource (opened and migrated before Nest starts) to every module. */
@Global()
@Module({})
export class DatabaseModule {
  static forRoot(dataSource: DataSource): DynamicModule {
    return { module: DatabaseModule, providers: [{ provide: DataSource, useValue: dataSource }], exports: [DataSource] };
  }
}
