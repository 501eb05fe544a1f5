import { Inject, Injectable } from '@nestjs/common';
import { isSpanContextValid, trace, TraceFlags } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

import { ObservabilityError } from '../shared/observability.errors';
import { LOG, type LogHandle, METRICS_REGISTRY } from '../work/work.constants';
import type { CardinalityGuard } from './cardinality-guard';
import { OVERFLOW_VALUE } from './metrics.constants';
import { METRICS_GUARD } from './metrics.constants';

/** Label values by label name. */
export type Labels<L extends string> = Partial<Record<L, string | number>>;

/** What defines a metric: asking again with the same definition returns the same metric. */
export interface MetricDefinition<L extends string = never> {
  /** Prometheus name: `[a-zA-Z_:][a-zA-Z0-9_:]*`; counters end in `_total`. */
  name: string;
  help: string;
  /** Keep them low-cardinality: a route, a status, a queue — never an id. */
  labelNames?: readonly L[];
}

/** A histogram's definition. */
export interface HistogramDefinition<L extends string = never> extends MetricDefinition<L> {
  /** Upper bounds in seconds (or the histogram's unit). @default the semantic-convention duration buckets */
  buckets?: readonly number[];
}

/** A counter made by {@link MetricsService.counter}. Never throws: bad input is logged. */
export interface CounterMetric<L extends string = never> {
  inc(labels?: Labels<L>, value?: number): void;
}
/** A gauge made by {@link MetricsService.gauge}. */
export interface GaugeMetric<L extends string = never> {
  set(labels: Labels<L>, value: number): void;
  inc(labels?: Labels<L>, value?: number): void;
  dec(labels?: Labels<L>, value?: number): void;
}
/** A histogram made by {@link MetricsService.histogram}; observations inside a sampled span carry it as an exemplar. */
export interface HistogramMetric<L extends string = never> {
  observe(labels: Labels<L>, value: number): void;
  /** Starts a timer; calling the result observes the seconds elapsed and returns them. */
  startTimer(labels?: Labels<L>): () => number;
}

type Kind = 'counter' | 'gauge' | 'histogram';
interface Entry {
  kind: Kind;
  signature: string;
  metric: CounterMetric<string> | GaugeMetric<string> | HistogramMetric<string>;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/**
 * Typed, get-or-create access to the application's metric registry. Each
 * application has its own registry, so two applications in one process (tests,
 * a hot reload) never collide. Label names are validated when a metric is
 * defined; label sets past the cardinality cap go to one `__overflow__` series.
 *
 * @example
 * constructor(private readonly metrics: MetricsService) {}
 * private readonly orders = this.metrics.counter({ name: 'orders_placed_total', help: 'Orders placed.', labelNames: ['channel'] });
 * place() { this.orders.inc({ channel: 'web' }); }
 */
@Injectable()
export class MetricsService {
  private readonly entries = new Map<string, Entry>();
  private readonly logger: Logger;
  private readonly reported = new Set<string>();

  constructor(
    /** The application's prom-client registry, for what this API does not cover. */
    @Inject(METRICS_REGISTRY) readonly registry: Registry,
    @Inject(METRICS_GUARD) private readonly guard: CardinalityGuard,
    @Inject(LOG) log: LogHandle,
  ) {
    this.logger = log.logger;
  }

  /** Gets or creates a counter. */
  counter<L extends string = never>(definition: MetricDefinition<L>): CounterMetric<L> {
    return this.define('counter', definition, () => {
      const counter = new Counter({
        name: definition.name,
        help: definition.help,
        labelNames: [...(definition.labelNames ?? [])],
        registers: [this.registry],
      });
      return {
        inc: (labels = {}, value = 1) => this.safely(definition.name, () => counter.inc(this.admit(definition, labels), value)),
      };
    }) as CounterMetric<L>;
  }

  /** Gets or creates a gauge. */
  gauge<L extends string = never>(definition: MetricDefinition<L>): GaugeMetric<L> {
    return this.define('gauge', definition, () => {
      const gauge = new Gauge({
        name: definition.name,
        help: definition.help,
        labelNames: [...(definition.labelNames ?? [])],
        registers: [this.registry],
      });
      return {
        set: (labels, value) => this.safely(definition.name, () => gauge.set(this.admit(definition, labels), value)),
        inc: (labels = {}, value = 1) => this.safely(definition.name, () => gauge.inc(this.admit(definition, labels), value)),
        dec: (labels = {}, value = 1) => this.safely(definition.name, () => gauge.dec(this.admit(definition, labels), value)),
      };
    }) as GaugeMetric<L>;
  }

  /** Gets or creates a histogram. */
  histogram<L extends string = never>(definition: HistogramDefinition<L>): HistogramMetric<L> {
    const buckets = [...(definition.buckets ?? DEFAULT_BUCKETS)];
    if (buckets.length === 0 || !buckets.every((b, i) => Number.isFinite(b) && (i === 0 || b > buckets[i - 1]))) {
      throw new ObservabilityError(
        `Metric "${definition.name}": buckets must be finite and strictly increasing, got [${buckets.join(', ')}].`,
      );
    }
    return this.define(
      'histogram',
      definition,
      () => {
        const histogram = new Histogram({
          name: definition.name,
          help: definition.help,
          labelNames: [...(definition.labelNames ?? [])],
          buckets,
          registers: [this.registry],
          enableExemplars: true,
        });
        const observe = (labels: Labels<string>, value: number) =>
          this.safely(definition.name, () => {
            const admitted = this.admit(definition, labels);
            const exemplarLabels = sampledExemplar();
            // (prom-client types exemplar labels as the metric's own label names; they are not.)
            if (exemplarLabels) histogram.observe({ labels: admitted, value, exemplarLabels: exemplarLabels as Labels<string> });
            else histogram.observe({ labels: admitted, value });
          });
        return {
          observe,
          startTimer: (labels = {}) => {
            const start = performance.now();
            return () => {
              const seconds = (performance.now() - start) / 1000;
              observe(labels, seconds);
              return seconds;
            };
          },
        };
      },
      buckets,
    ) as HistogramMetric<L>;
  }

  private define<L extends string>(
    kind: Kind,
    definition: MetricDefinition<L>,
    create: () => Entry['metric'],
    buckets?: number[],
  ): Entry['metric'] {
    const { name, help } = definition;
    if (typeof name !== 'string' || !NAME.test(name)) {
      throw new ObservabilityError(
        `Invalid metric name ${JSON.stringify(name)}: use letters, digits, "_" and ":", not starting with a digit.`,
      );
    }
    if (typeof help !== 'string' || help.trim() === '') {
      throw new ObservabilityError(`Metric "${name}" needs a non-empty help text.`);
    }
    const labelNames = [...(definition.labelNames ?? [])];
    for (const label of labelNames) {
      if (typeof label !== 'string' || !LABEL.test(label) || label.startsWith('__') || (kind === 'histogram' && label === 'le')) {
        throw new ObservabilityError(
          `Metric "${name}" has an invalid label name ${JSON.stringify(label)}: use letters, digits and "_", not starting with a digit or "__"${kind === 'histogram' ? ', and not "le"' : ''}.`,
        );
      }
    }
    if (new Set(labelNames).size !== labelNames.length) {
      throw new ObservabilityError(`Metric "${name}" lists a label name twice: [${labelNames.join(', ')}].`);
    }
    const signature = `${kind} help=${JSON.stringify(help)} labels=[${[...labelNames].sort().join(',')}]${buckets ? ` buckets=[${buckets.join(',')}]` : ''}`;
    const existing = this.entries.get(name);
    if (existing) {
      if (existing.signature !== signature) {
        throw new ObservabilityError(
          `Metric "${name}" is already defined as ${existing.signature}; now asked for ${signature}. Use one definition per metric name.`,
        );
      }
      return existing.metric;
    }
    if (this.registry.getSingleMetric(name)) {
      throw new ObservabilityError(`Metric "${name}" already exists in the registry (made outside MetricsService); pick another name.`);
    }
    const metric = create();
    this.entries.set(name, { kind, signature, metric });
    return metric;
  }

  /** The label set itself, or the overflow label set once the metric is at its cap. */
  private admit<L extends string>(definition: MetricDefinition<L>, labels: Labels<L>): Labels<L> {
    const names = definition.labelNames ?? [];
    if (names.length === 0) return labels;
    let key = '';
    for (const name of names) key += `${labels[name] ?? ''}\u0000`;
    if (this.guard.admit(definition.name, key)) return labels;
    const overflow: Labels<L> = {};
    for (const name of names) overflow[name] = OVERFLOW_VALUE;
    return overflow;
  }

  /** Telemetry never fails the caller: a bad observation is reported once per metric and dropped. */
  private safely(name: string, fn: () => void): void {
    try {
      fn();
    } catch (error) {
      if (!this.reported.has(name)) {
        this.reported.add(name);
        this.logger.warn({ err: error, metric: name }, `nestjs-observability: observation of metric "${name}" dropped`);
      }
    }
  }
}

/** `{ trace_id, span_id }` of the active span when it is sampled. */
function sampledExemplar(): { trace_id: string; span_id: string } | undefined {
  const spanContext = trace.getActiveSpan()?.spanContext();
  if (!spanContext || !isSpanContextValid(spanContext) || (spanContext.traceFlags & TraceFlags.SAMPLED) === 0) return undefined;
  return { trace_id: spanContext.traceId, span_id: spanContext.spanId };
}
