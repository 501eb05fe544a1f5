import type { Registry } from 'prom-client';

import type { CardinalityGuard } from './cardinality-guard';
import {
  HTTP_DURATION_BUCKETS,
  HTTP_SERVER_ACTIVE,
  HTTP_SERVER_DURATION,
  LABEL_METHOD,
  LABEL_ROUTE,
  LABEL_STATUS,
  OVERFLOW_VALUE,
} from './metrics.constants';

/** The shape prom-client's registry reads from a metric (`get()`), as its own metrics return it. */
interface MetricValue {
  labels: Record<string, string | number>;
  sharedLabels?: Record<string, string | number>;
  value: number;
  metricName?: string;
  exemplar?: { labelSet: Record<string, string>; value: number; timestamp: number } | null;
}
interface MetricSnapshot {
  name: string;
  help: string;
  type: 'histogram' | 'gauge';
  values: MetricValue[];
  aggregator: 'sum';
}

/** One histogram series: counts per bucket, plus the latest exemplar per bucket. */
class Series {
  readonly counts: Float64Array;
  readonly exemplars: ({ labelSet: { trace_id: string; span_id: string }; value: number; timestamp: number } | null)[];
  sum = 0;
  count = 0;
  constructor(
    readonly labels: Record<string, string | number>,
    buckets: number,
  ) {
    // One slot per bound plus +Inf.
    this.counts = new Float64Array(buckets + 1);
    this.exemplars = new Array(buckets + 1).fill(null);
  }
}

/**
 * `http_server_request_duration_seconds`, recorded once per request. It is a
 * registry metric of its own rather than a prom-client `Histogram` because the
 * request path must not hash a label object per observation: series are found
 * by one string key, exemplars are written in place, nothing is allocated per
 * request once a series exists.
 * @internal
 */
export class HttpServerMetrics {
  private readonly series = new Map<string, Series>();
  private readonly bounds = HTTP_DURATION_BUCKETS;
  /** `http_server_active_requests`. */
  active = 0;

  constructor(
    registry: Registry,
    private readonly guard: CardinalityGuard,
    private readonly exemplars: boolean,
  ) {
    const self = this;
    registry.registerMetric({
      name: HTTP_SERVER_DURATION,
      get: () => self.durationSnapshot(),
      reset: () => self.series.clear(),
    } as never);
    registry.registerMetric({
      name: HTTP_SERVER_ACTIVE,
      get: (): MetricSnapshot => ({
        name: HTTP_SERVER_ACTIVE,
        help: 'Number of HTTP server requests in flight.',
        type: 'gauge',
        values: [{ labels: {}, value: self.active }],
        aggregator: 'sum',
      }),
      reset: () => undefined,
    } as never);
  }

  /**
   * Records one finished request. `traceId`/`spanId` are given only for a
   * sampled span; they become the bucket's exemplar.
   */
  record(method: string, route: string, status: number, seconds: number, traceId?: string, spanId?: string): void {
    const key = `${method} ${status} ${route}`;
    let series = this.series.get(key);
    if (series === undefined) {
      if (this.guard.admit(HTTP_SERVER_DURATION, key)) {
        series = new Series({ [LABEL_METHOD]: method, [LABEL_ROUTE]: route, [LABEL_STATUS]: status }, this.bounds.length);
        this.series.set(key, series);
      } else {
        series = this.overflowSeries();
      }
    }
    let bucket = 0;
    while (bucket < this.bounds.length && seconds > this.bounds[bucket]) bucket++;
    series.counts[bucket]++;
    series.sum += seconds;
    series.count++;
    if (traceId !== undefined && this.exemplars) {
      const exemplar = series.exemplars[bucket];
      if (exemplar === null) {
        series.exemplars[bucket] = { labelSet: { trace_id: traceId, span_id: spanId ?? '' }, value: seconds, timestamp: Date.now() / 1000 };
      } else {
        exemplar.labelSet.trace_id = traceId;
        exemplar.labelSet.span_id = spanId ?? '';
        exemplar.value = seconds;
        exemplar.timestamp = Date.now() / 1000;
      }
    }
  }

  /** Number of series (label sets) of the duration histogram. */
  get seriesCount(): number {
    return this.series.size;
  }

  private overflowSeries(): Series {
    const key = OVERFLOW_VALUE;
    let series = this.series.get(key);
    if (!series) {
      series = new Series(
        { [LABEL_METHOD]: OVERFLOW_VALUE, [LABEL_ROUTE]: OVERFLOW_VALUE, [LABEL_STATUS]: OVERFLOW_VALUE },
        this.bounds.length,
      );
      this.series.set(key, series);
    }
    return series;
  }

  private durationSnapshot(): MetricSnapshot {
    const values: MetricValue[] = [];
    for (const series of this.series.values()) {
      let cumulative = 0;
      for (let i = 0; i <= this.bounds.length; i++) {
        cumulative += series.counts[i];
        const exemplar = series.exemplars[i];
        values.push({
          labels: { le: i < this.bounds.length ? this.bounds[i] : '+Inf' },
          sharedLabels: series.labels,
          value: cumulative,
          metricName: `${HTTP_SERVER_DURATION}_bucket`,
          // Copied: a scrape must not see an exemplar change under it.
          exemplar: exemplar ? { labelSet: { ...exemplar.labelSet }, value: exemplar.value, timestamp: exemplar.timestamp } : null,
        });
      }
      values.push({ labels: {}, sharedLabels: series.labels, value: series.sum, metricName: `${HTTP_SERVER_DURATION}_sum` });
      values.push({ labels: {}, sharedLabels: series.labels, value: series.count, metricName: `${HTTP_SERVER_DURATION}_count` });
    }
    return {
      name: HTTP_SERVER_DURATION,
      help: 'Duration of HTTP server requests.',
      type: 'histogram',
      values,
      aggregator: 'sum',
    };
  }
}
