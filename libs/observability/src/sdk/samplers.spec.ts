import { ROOT_CONTEXT, SpanKind, trace, TraceFlags } from '@opentelemetry/api';
import { SamplingDecision } from '@opentelemetry/sdk-trace-base';

import { resolveTelemetryConfig, type SamplerName } from '../config/telemetry-config';
import { createSampler } from './samplers';

const PARENT_BASED = (root: string) =>
  `ParentBased{root=${root}, remoteParentSampled=AlwaysOnSampler, remoteParentNotSampled=AlwaysOffSampler, ` +
  'localParentSampled=AlwaysOnSampler, localParentNotSampled=AlwaysOffSampler}';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';

function decide(sampler: ReturnType<typeof createSampler>, parent?: { sampled: boolean }): SamplingDecision {
  const context = parent
    ? trace.setSpanContext(ROOT_CONTEXT, {
        traceId: TRACE_ID,
        spanId: 'b7ad6b7169203331',
        traceFlags: parent.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
        isRemote: true,
      })
    : ROOT_CONTEXT;
  return sampler.shouldSample(context, TRACE_ID, 'span', SpanKind.INTERNAL, {}, []).decision;
}

describe('createSampler', () => {
  it.each<[SamplerName, string | undefined, string]>([
    ['always_on', undefined, 'AlwaysOnSampler'],
    ['always_off', undefined, 'AlwaysOffSampler'],
    ['traceidratio', '0.25', 'TraceIdRatioBased{0.25}'],
    ['parentbased_always_on', undefined, PARENT_BASED('AlwaysOnSampler')],
    ['parentbased_always_off', undefined, PARENT_BASED('AlwaysOffSampler')],
    ['parentbased_traceidratio', '0.5', PARENT_BASED('TraceIdRatioBased{0.5}')],
  ])('builds OTEL_TRACES_SAMPLER=%s (arg %s) as %s', (name, arg, expected) => {
    const config = resolveTelemetryConfig({ OTEL_TRACES_SAMPLER: name, OTEL_TRACES_SAMPLER_ARG: arg });
    expect(createSampler(config).toString()).toBe(expected);
  });

  it('builds the default, parentbased_always_on, from an empty environment', () => {
    expect(createSampler(resolveTelemetryConfig({})).toString()).toBe(PARENT_BASED('AlwaysOnSampler'));
  });

  it('samples roots by ratio: none at 0, all at 1', () => {
    expect(decide(createSampler({ sampler: 'traceidratio', samplerRatio: 0 }))).toBe(SamplingDecision.NOT_RECORD);
    expect(decide(createSampler({ sampler: 'traceidratio', samplerRatio: 1 }))).toBe(SamplingDecision.RECORD_AND_SAMPLED);
  });

  it('follows a remote parent under parentbased_*, whatever the root sampler says', () => {
    const sampler = createSampler({ sampler: 'parentbased_always_off', samplerRatio: 1 });
    expect(decide(sampler)).toBe(SamplingDecision.NOT_RECORD);
    expect(decide(sampler, { sampled: true })).toBe(SamplingDecision.RECORD_AND_SAMPLED);
    expect(decide(createSampler({ sampler: 'parentbased_always_on', samplerRatio: 1 }), { sampled: false })).toBe(
      SamplingDecision.NOT_RECORD,
    );
  });

  it('ignores the parent under always_on and always_off', () => {
    expect(decide(createSampler({ sampler: 'always_on', samplerRatio: 1 }), { sampled: false })).toBe(SamplingDecision.RECORD_AND_SAMPLED);
    expect(decide(createSampler({ sampler: 'always_off', samplerRatio: 1 }), { sampled: true })).toBe(SamplingDecision.NOT_RECORD);
  });
});
