import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const registry = new Registry();
collectDefaultMetrics({ register: registry });

export const httpDuration = new Histogram({
  name: 'puente_http_request_duration_seconds',
  help: 'HTTP request duration by route and status',
  labelNames: ['method', 'route', 'status'],
  buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry],
});

export const outboundCalls = new Counter({
  name: 'puente_outbound_calls_total',
  help: 'Calls to external platforms by service and outcome',
  labelNames: ['service', 'outcome'],
  registers: [registry],
});

export const syncPulls = new Counter({
  name: 'puente_sync_pulls_total',
  help: 'GET /sync/pull-changes answered, by where the page came from (memory: the window of recent changes; database)',
  labelNames: ['source'],
  registers: [registry],
});
