/**
 * Every default of the library, in one place.
 */
export const DEFAULTS = {
  serviceName: 'unknown_service:node',
  serviceVersion: 'unknown',
  environment: 'development',
  sampler: 'parentbased_always_on',
  samplerRatio: 1,
  logLevel: 'info',
  logFormat: 'json',
  requestIdHeader: 'x-request-id',
  /** Paths no pillar observes: health probes and the scrape endpoint. */
  ignorePaths: ['/health', '/metrics'] as readonly string[],
  redactionCensor: '[REDACTED]',
  sentryFlushTimeoutMillis: 2_000,
  metricsPath: '/metrics',
  metricsHost: '0.0.0.0',
  maxLabelSets: 1000,
  /**
   * Sized for sustained load: at 10k spans/s a 3 s stall of the collector loses
   * nothing. Batches stay small because each is serialized in one go on the event
   * loop: 512 spans keep that pause short enough not to show in p99 latency.
   */
  batch: {
    maxQueueSize: 32_768,
    maxExportBatchSize: 512,
    scheduledDelayMillis: 500,
    exportTimeoutMillis: 10_000,
  },
} as const;
