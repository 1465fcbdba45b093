import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { databaseGauges, registry } from './metrics';

describe('metrics', () => {
  it('the Grafana dashboard in docs/ uses only metric names the service exposes', async () => {
    databaseGauges(() => Promise.resolve([]), () => undefined);
    const dashboard = JSON.parse(readFileSync(join(__dirname, '..', '..', 'docs', 'grafana-dashboard.json'), 'utf8')) as { panels: { targets: { expr: string }[] }[] };
    const used = new Set(dashboard.panels.flatMap((p) => p.targets.flatMap((t) => [...t.expr.matchAll(/\bhl7c_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, '')))));
    const exposed = new Set((await registry.getMetricsAsJSON()).map((m) => m.name));
    expect(used.size).toBeGreaterThan(10);
    expect([...used].filter((n) => !exposed.has(n))).toEqual([]);
  });
});
