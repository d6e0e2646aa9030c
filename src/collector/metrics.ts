/**
 * A collector's Prometheus metrics (`GET /metrics`, text exposition format): counters of the
 * events it accepted, labelled by module, version and reason, and a gauge of active clients.
 * Collectors share nothing, so any number can run behind a load balancer; Prometheus sums them.
 * prom-client is an optional peer dependency, loaded only when a collector serves metrics.
 */
import type * as PromClient from 'prom-client';
import { optionalPackage, type AcceptedEvent, type Collector } from './Collector.js';

/** The metric of each telemetry event type, and whether it carries the event's reason. */
export const METRIC_OF_TYPE: Record<string, { name: string; help: string; reason: boolean }> = {
  exposure: { name: 'tranche_page_loads_total', help: 'Page loads running module@version (exposures)', reason: false },
  'healthy-boot': { name: 'tranche_healthy_boots_total', help: 'Page loads whose app booted healthily', reason: false },
  errors: { name: 'tranche_runtime_errors_total', help: 'Errors attributed to module@version', reason: false },
  rollback: { name: 'tranche_fallbacks_total', help: 'Client fallbacks away from module@version, by reason', reason: true },
  'staging-failed': { name: 'tranche_staging_failures_total', help: 'Versions that failed to stage, by reason', reason: true },
};
/** Distinct clients per module@version that loaded a page in the last ACTIVE_WINDOW_MS. */
export const ACTIVE_CLIENTS_METRIC = 'tranche_active_clients';
const ACTIVE_WINDOW_MS = 5 * 60_000;

/** A registry fed by `collector`'s accepted events; `metrics()` renders it. */
export function collectorMetrics(collector: Collector): PromClient.Registry {
  const prom = optionalPackage<typeof PromClient>('prom-client', "the collector's /metrics");
  const registry = new prom.Registry();
  const counters = new Map<string, PromClient.Counter<string>>();
  for (const [type, { name, help, reason }] of Object.entries(METRIC_OF_TYPE)) {
    const labelNames = reason ? ['module', 'version', 'reason'] : ['module', 'version'];
    counters.set(type, new prom.Counter({ name, help, labelNames, registers: [registry] }));
  }
  new prom.Gauge({
    name: ACTIVE_CLIENTS_METRIC,
    help: `Distinct clients that loaded a page running module@version in the last ${ACTIVE_WINDOW_MS / 60_000} minutes`,
    labelNames: ['module', 'version'],
    registers: [registry],
    collect() {
      this.reset();
      const to = collector.now();
      for (const { module, version, n } of collector.activeClients({ from: to - ACTIVE_WINDOW_MS, to: to + 1 }))
        this.set({ module, version }, n);
    },
  });
  collector.onAccepted((events: AcceptedEvent[]) => {
    for (const e of events) {
      const counter = counters.get(e.type);
      if (!counter || !e.module) continue;
      const labels: Record<string, string> = { module: e.module, version: e.version };
      if (METRIC_OF_TYPE[e.type]!.reason) labels.reason = e.reason || 'unknown';
      counter.inc(labels, e.count);
    }
  });
  return registry;
}
