/**
 * Run as its own process by the batch benchmark: creates the batches of every ready claim in the
 * database it is given and reports the time taken and this process's peak RSS.
 */
import pino from 'pino';
import { DataSource } from 'typeorm';
import { setRootLogger } from '../../src/common/logger';
import { BatchesService } from '../../src/modules/submission/batches.service';

process.on('message', (m: { url: string }) => {
  setRootLogger(pino({ level: 'silent' }));
  void (async () => {
    const ds = new DataSource({ type: 'postgres', url: m.url, extra: { max: 2 } });
    await ds.initialize();
    const started = process.hrtime.bigint();
    const batches = await new BatchesService(ds).create({ actor: 'bench' });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    await ds.destroy();
    process.send?.({ seconds, peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024), batches }, () => process.exit(0));
  })();
});
