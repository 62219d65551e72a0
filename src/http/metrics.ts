/**
 * Prometheus metrics (prom-client), derived from the audit events: every tool-call outcome is
 * already one event with tool, outcome, approval, backend status and durations, so counting
 * from it keeps the numbers and the audit trail in agreement by construction.
 *
 * `/metrics` is served only when allowed (src/README.md, "Configuration"): open on a loopback bind,
 * and on any other bind only with a scrape token, never public by default.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { AuditLog } from '../tools/audit.ts';
import type { PromMetrics } from './promMetrics.ts';
import { sendJson } from './respond.ts';

export interface DeputyMetrics {
  registry: MetricsRegistry;
  /** Wraps an audit log so every recorded event is also counted. */
  observe(audit: AuditLog): AuditLog;
  /**
   * A resumed 2026-07-28 call whose approval state was refused before any tool ran (so no audit
   * event): `expired` when the human answered after DEPUTY_APPROVAL_TTL_SECONDS, `invalid` otherwise.
   */
  rejectedApprovalState(reason: 'expired' | 'invalid'): void;
  /** Counts one failed or skipped operation on the shared state store. */
  sharedStateError(): void;
}

/**
 * Callers counted under their own `subject` label per process; later ones share `(other)`. A
 * label per caller is what a per-user volume alert needs (.deploy/README.md, "Alert rules"), and
 * the cap keeps a flood of distinct subjects from growing the series without bound.
 */
export const MAX_SUBJECT_LABELS = 1000;

export interface MetricsSources {
  openSessions: () => number;
  /** The backend's last reported remaining, per credential label (schemes and scopes, never a token). */
  backendRemaining?: () => { credential: string; remaining: number }[];
  /** Whether the shared state store answers now (always true when it is this process's memory). */
  sharedStateUp: () => boolean;
}

/** What app.ts serves /metrics from: prom-client's registry, loaded on first use. */
export type MetricsRegistry = Pick<Registry, 'contentType' | 'metrics' | 'getMetricsAsJSON'>;

/**
 * prom-client and the series (promMetrics.ts) are imported on the first event to count or the
 * first scrape, not at start: ~50 ms and ~10 MiB a process that is never called or scraped does
 * not pay (bench/README.md, "Cold start"). Events recorded while the import is under way wait in
 * a queue and are counted in order once it is done, so no count is lost.
 */
export function createMetrics(options: MetricsSources): DeputyMetrics {
  let loaded: PromMetrics | null = null;
  let loading: Promise<PromMetrics> | null = null;
  const waiting: ((metrics: PromMetrics) => void)[] = [];
  const load = (): Promise<PromMetrics> =>
    (loading ??= import('./promMetrics.ts').then(({ createPromMetrics }) => {
      const metrics = createPromMetrics(options);
      for (const apply of waiting.splice(0)) apply(metrics);
      loaded = metrics;
      return metrics;
    }));
  const apply = (step: (metrics: PromMetrics) => void) => {
    if (loaded) return step(loaded);
    waiting.push(step);
    void load();
  };
  return {
    registry: {
      // prom-client's exposition format; read after metrics(), which loads it.
      get contentType() {
        return (loaded?.registry.contentType ?? 'text/plain; version=0.0.4; charset=utf-8') as Registry['contentType'];
      },
      metrics: async () => (await load()).registry.metrics(),
      getMetricsAsJSON: async () => (await load()).registry.getMetricsAsJSON(),
    },
    observe: (audit) => ({
      record(event) {
        audit.record(event);
        apply((metrics) => metrics.count(event));
      },
      approval(event) {
        audit.approval?.(event);
        apply((metrics) => metrics.approvalEvent(event));
      },
      flush: () => audit.flush(),
    }),
    rejectedApprovalState: (reason) => apply((metrics) => metrics.rejectedApprovalState(reason)),
    sharedStateError: () => apply((metrics) => metrics.sharedStateError()),
  };
}

/** GET /metrics, guarded: `token` null means open (loopback binds only, decided by config). */
export function metricsHandler(registry: MetricsRegistry, token: string | null): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const expected = token === null ? null : Buffer.from(`Bearer ${token}`);
  return async (req, res) => {
    if (expected) {
      const given = Buffer.from(req.headers.authorization ?? '');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        sendJson(res, 401, { error: 'unauthorized', error_description: 'A metrics scrape token is required' }, { 'www-authenticate': 'Bearer realm="metrics"' });
        return;
      }
    }
    const body = await registry.metrics();
    res.writeHead(200, { 'content-type': registry.contentType, 'content-length': String(Buffer.byteLength(body)) }).end(body);
  };
}
