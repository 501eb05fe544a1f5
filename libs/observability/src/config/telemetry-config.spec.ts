import { ObservabilityConfigError } from '../shared/observability.errors';
import { OTLP_PROTOCOLS, resolveTelemetryConfig, SAMPLERS } from './telemetry-config';

describe('resolveTelemetryConfig', () => {
  it('defaults to an enabled SDK, parentbased_always_on at ratio 1, no exporter and the default batch sizes', () => {
    expect(resolveTelemetryConfig({})).toEqual({
      disabled: false,
      serviceName: undefined,
      serviceVersion: undefined,
      environment: undefined,
      sampler: 'parentbased_always_on',
      samplerRatio: 1,
      exporter: 'none',
      tracesUrl: undefined,
      otlpProtocol: 'http/protobuf',
      batch: { maxQueueSize: 32_768, maxExportBatchSize: 128, scheduledDelayMillis: 250, exportTimeoutMillis: 10_000 },
      sdkMetrics: false,
      sdkLogs: false,
    });
  });

  it('reads the service identity from env', () => {
    const config = resolveTelemetryConfig({ OTEL_SERVICE_NAME: 'orders', SERVICE_VERSION: '1.2.3', DEPLOYMENT_ENVIRONMENT: 'prod' });
    expect([config.serviceName, config.serviceVersion, config.environment]).toEqual(['orders', '1.2.3', 'prod']);
  });

  describe('sampler', () => {
    it.each(SAMPLERS)('accepts OTEL_TRACES_SAMPLER=%s', (name) => {
      expect(resolveTelemetryConfig({ OTEL_TRACES_SAMPLER: name }).sampler).toBe(name);
    });

    it('accepts the sampler name in upper case', () => {
      expect(resolveTelemetryConfig({ OTEL_TRACES_SAMPLER: 'ALWAYS_OFF' }).sampler).toBe('always_off');
    });

    it('rejects OTEL_TRACES_SAMPLER=bogus naming the variable, the value and every accepted sampler', () => {
      expect(() => resolveTelemetryConfig({ OTEL_TRACES_SAMPLER: 'bogus' })).toThrow(
        'Invalid OTEL_TRACES_SAMPLER: "bogus". Expected one of always_on, always_off, traceidratio, parentbased_always_on, ' +
          'parentbased_always_off, parentbased_traceidratio. Fix or unset the environment variable OTEL_TRACES_SAMPLER.',
      );
      expect(() => resolveTelemetryConfig({ OTEL_TRACES_SAMPLER: 'bogus' })).toThrow(ObservabilityConfigError);
    });

    it.each([
      ['traceidratio', '0.25', 0.25],
      ['parentbased_traceidratio', '0', 0],
      ['parentbased_traceidratio', '1', 1],
    ])('reads the ratio of %s from OTEL_TRACES_SAMPLER_ARG=%s', (sampler, arg, ratio) => {
      const config = resolveTelemetryConfig({ OTEL_TRACES_SAMPLER: sampler, OTEL_TRACES_SAMPLER_ARG: arg });
      expect({ sampler: config.sampler, samplerRatio: config.samplerRatio }).toEqual({ sampler, samplerRatio: ratio });
    });

    it.each(['1.5', '-0.1', 'half', 'NaN', 'Infinity'])('rejects OTEL_TRACES_SAMPLER_ARG=%s for a ratio sampler', (arg) => {
      expect(() => resolveTelemetryConfig({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: arg })).toThrow(
        `Invalid OTEL_TRACES_SAMPLER_ARG: "${arg}". Expected a number from 0 to 1 (the fraction of traces sampled). ` +
          'Fix or unset the environment variable OTEL_TRACES_SAMPLER_ARG.',
      );
    });

    it('ignores OTEL_TRACES_SAMPLER_ARG for a sampler that takes no argument', () => {
      const config = resolveTelemetryConfig({ OTEL_TRACES_SAMPLER: 'always_on', OTEL_TRACES_SAMPLER_ARG: 'half' });
      expect(config.samplerRatio).toBe(1);
    });
  });

  describe('exporter', () => {
    it("is 'none' without endpoint or exporter variables", () => {
      expect(resolveTelemetryConfig({})).toMatchObject({ exporter: 'none', tracesUrl: undefined });
    });

    it("is 'otlp' posting to endpoint + /v1/traces when OTEL_EXPORTER_OTLP_ENDPOINT is set", () => {
      expect(resolveTelemetryConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toMatchObject({
        exporter: 'otlp',
        tracesUrl: 'http://collector:4318/v1/traces',
      });
    });

    it.each([
      ['http://collector:4318/', 'http://collector:4318/v1/traces'],
      ['http://collector:4318//', 'http://collector:4318/v1/traces'],
      ['https://otel.example.com/otlp/', 'https://otel.example.com/otlp/v1/traces'],
    ])('handles the trailing slash of OTEL_EXPORTER_OTLP_ENDPOINT=%s', (endpoint, url) => {
      expect(resolveTelemetryConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint }).tracesUrl).toBe(url);
    });

    it('uses OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as it is, in preference to the general endpoint', () => {
      const config = resolveTelemetryConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://general:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:4318/custom/path',
      });
      expect(config).toMatchObject({ exporter: 'otlp', tracesUrl: 'http://traces:4318/custom/path' });
    });

    it('writes to the console when OTEL_TRACES_EXPORTER=console', () => {
      expect(resolveTelemetryConfig({ OTEL_TRACES_EXPORTER: 'console' }).exporter).toBe('console');
    });

    it('stays off with OTEL_TRACES_EXPORTER=none even when an endpoint is set', () => {
      expect(resolveTelemetryConfig({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).exporter).toBe(
        'none',
      );
    });

    it('rejects an unknown OTEL_TRACES_EXPORTER', () => {
      expect(() => resolveTelemetryConfig({ OTEL_TRACES_EXPORTER: 'zipkin' })).toThrow(
        'Invalid OTEL_TRACES_EXPORTER: "zipkin". Expected one of otlp, console, none.',
      );
    });

    it.each([
      ['OTEL_EXPORTER_OTLP_ENDPOINT', 'not a url'],
      ['OTEL_EXPORTER_OTLP_ENDPOINT', 'collector:4318'],
      ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'ftp://collector/v1/traces'],
    ])('rejects %s=%s as not an http(s) URL', (name, value) => {
      expect(() => resolveTelemetryConfig({ [name]: value })).toThrow(
        `Invalid ${name}: "${value}". Expected an absolute http(s) URL such as http://127.0.0.1:4318. ` +
          `Fix or unset the environment variable ${name}.`,
      );
    });
  });

  describe('OTLP protocol', () => {
    it('is http/protobuf by default', () => {
      expect(resolveTelemetryConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).otlpProtocol).toBe('http/protobuf');
    });

    it.each(OTLP_PROTOCOLS)('accepts OTEL_EXPORTER_OTLP_PROTOCOL=%s', (protocol) => {
      expect(resolveTelemetryConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: protocol }).otlpProtocol).toBe(protocol);
    });

    it.each(OTLP_PROTOCOLS)('accepts OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=%s', (protocol) => {
      expect(resolveTelemetryConfig({ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: protocol }).otlpProtocol).toBe(protocol);
    });

    it('accepts the protocol in upper case', () => {
      expect(resolveTelemetryConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: 'HTTP/JSON' }).otlpProtocol).toBe('http/json');
    });

    it('takes OTEL_EXPORTER_OTLP_TRACES_PROTOCOL over OTEL_EXPORTER_OTLP_PROTOCOL', () => {
      const config = resolveTelemetryConfig({
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
      });
      expect(config.otlpProtocol).toBe('http/json');
    });

    it('leaves OTEL_EXPORTER_OTLP_PROTOCOL=grpc to other signals when the traces variable decides', () => {
      const config = resolveTelemetryConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' });
      expect(config.otlpProtocol).toBe('http/json');
    });

    it.each([
      ['OTEL_EXPORTER_OTLP_PROTOCOL', 'grpc'],
      ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'grpc'],
      ['OTEL_EXPORTER_OTLP_PROTOCOL', 'http/proto'],
      ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'json'],
    ])('rejects %s=%s naming the variable, the value, what is accepted and the fix', (name, value) => {
      const resolving = () => resolveTelemetryConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', [name]: value });
      expect(resolving).toThrow(
        `Invalid ${name}: "${value}". Expected http/protobuf (the default) or http/json; grpc is not supported: ` +
          `send OTLP over HTTP, which collectors serve on port 4318. Fix or unset the environment variable ${name}.`,
      );
      expect(resolving).toThrow(ObservabilityConfigError);
    });

    it('names the traces variable when it is the bad one, even if the general one is fine', () => {
      expect(() =>
        resolveTelemetryConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc' }),
      ).toThrow('Invalid OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "grpc".');
    });
  });

  describe('OTEL_SDK_DISABLED', () => {
    it.each([
      ['true', true],
      ['TRUE', true],
      ['1', true],
      ['false', false],
      ['0', false],
      ['', false],
    ])('reads %j as disabled=%s', (value, disabled) => {
      expect(resolveTelemetryConfig({ OTEL_SDK_DISABLED: value }).disabled).toBe(disabled);
    });

    it('rejects a value that is not a boolean', () => {
      expect(() => resolveTelemetryConfig({ OTEL_SDK_DISABLED: 'yes' })).toThrow(
        'Invalid OTEL_SDK_DISABLED: "yes". Expected true or false. Fix or unset the environment variable OTEL_SDK_DISABLED.',
      );
    });
  });

  describe('batch span processor', () => {
    it('reads the OTEL_BSP_* variables', () => {
      const config = resolveTelemetryConfig({
        OTEL_BSP_MAX_QUEUE_SIZE: '100',
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '10',
        OTEL_BSP_SCHEDULE_DELAY: '50',
        OTEL_BSP_EXPORT_TIMEOUT: '2000',
      });
      expect(config.batch).toEqual({ maxQueueSize: 100, maxExportBatchSize: 10, scheduledDelayMillis: 50, exportTimeoutMillis: 2000 });
    });

    it.each(['0', '-5', '1.5', 'many'])('rejects OTEL_BSP_MAX_QUEUE_SIZE=%s', (value) => {
      expect(() => resolveTelemetryConfig({ OTEL_BSP_MAX_QUEUE_SIZE: value })).toThrow(
        `Invalid OTEL_BSP_MAX_QUEUE_SIZE: "${value}". Expected a positive whole number.`,
      );
    });
  });

  it('notes whether the SDK metrics and logs exporters were asked for', () => {
    const config = resolveTelemetryConfig({ OTEL_METRICS_EXPORTER: 'otlp', OTEL_LOGS_EXPORTER: 'console' });
    expect([config.sdkMetrics, config.sdkLogs]).toEqual([true, true]);
  });
});
