import { trace } from '@opentelemetry/api';

import { TRACED_METRICS, TRACED_RECORDER, type TracedRecorder } from '../work/traced-recorder';
import { runInSpan, type SpanOptions } from './span-runner';
import { ATTR_CODE_FUNCTION, TRACER_NAME, TRACER_VERSION } from './tracing.constants';

/** Options of {@link Traced}. */
export interface TracedOptions extends SpanOptions {
  /**
   * Also record `traced_operation_duration_seconds{operation, outcome}` and
   * `traced_operation_errors_total{operation, error_type}` — one annotation,
   * both signals. Labels are the span name, `ok`/`error` and the error's class:
   * low-cardinality by construction (span attributes are not copied).
   * Applies to providers and controllers of an application that imports the module.
   * @default false
   */
  metric?: boolean;
}

/**
 * Runs the method in its own span, a child of the active one: sync, async and
 * Observable-returning methods alike. On throw (or rejection, or an Observable
 * error) the span gets ERROR status and the exception is recorded; the error is
 * rethrown unchanged. Metadata set by other decorators (`@Get`, `@MessagePattern`,
 * guards, Swagger), above or below this one, keeps working.
 *
 * On a class, every method of the class is traced.
 *
 * @param name span name; default `ClassName.method`
 * @example
 * @Injectable()
 * export class UsersService {
 *   @Traced()
 *   async find(id: string) { ... }            // span "UsersService.find"
 *
 *   @Traced('users.load', { attributes: { 'db.system.name': 'postgresql' } })
 *   load() { ... }
 * }
 */
export function Traced(name?: string, options: TracedOptions = {}): MethodDecorator & ClassDecorator {
  return ((target: object, propertyKey?: string | symbol, descriptor?: PropertyDescriptor) => {
    if (propertyKey === undefined) {
      traceClass(target as new (...args: unknown[]) => unknown, options);
      return;
    }
    if (!descriptor || typeof descriptor.value !== 'function') return descriptor;
    // A static method's target is the class itself; an instance method's, its prototype.
    const owner = (typeof target === 'function' ? target : (target as { constructor: object }).constructor) as { name: string };
    const className = owner.name;
    if (options.metric) markForMetrics(owner);
    descriptor.value = wrapMethod(
      descriptor.value as (...args: unknown[]) => unknown,
      name ?? `${className}.${String(propertyKey)}`,
      options,
    );
    return descriptor;
  }) as MethodDecorator & ClassDecorator;
}

function traceClass(ctor: new (...args: unknown[]) => unknown, options: TracedOptions): void {
  if (options.metric) markForMetrics(ctor);
  const proto = ctor.prototype as Record<string, unknown>;
  for (const key of Object.getOwnPropertyNames(proto)) {
    if (key === 'constructor') continue;
    const descriptor = Object.getOwnPropertyDescriptor(proto, key);
    // Accessors stay as they are; a method already traced keeps its own name.
    if (!descriptor || typeof descriptor.value !== 'function' || (descriptor.value as { [TRACED]?: true })[TRACED]) continue;
    descriptor.value = wrapMethod(descriptor.value as (...args: unknown[]) => unknown, `${ctor.name}.${key}`, options);
    Object.defineProperty(proto, key, descriptor);
  }
}

const TRACED = Symbol('nestjs-observability.traced');

function markForMetrics(owner: object): void {
  if (typeof Reflect.defineMetadata === 'function') Reflect.defineMetadata(TRACED_METRICS, true, owner);
}

function wrapMethod(original: (...args: unknown[]) => unknown, spanName: string, options: TracedOptions) {
  const { metric, ...rest } = options;
  const spanOptions: SpanOptions = {
    ...rest,
    attributes: { [ATTR_CODE_FUNCTION]: spanName, ...options.attributes },
  };
  const wrapped = function (this: unknown, ...args: unknown[]) {
    const recorder = metric ? (this as { [TRACED_RECORDER]?: TracedRecorder } | undefined)?.[TRACED_RECORDER] : undefined;
    const start = recorder ? performance.now() : 0;
    // Looked up per call, not at decoration: a ProxyTracer would stay bound to the
    // first provider it saw, and providers change (a restarted pipeline, tests).
    return runInSpan(
      trace.getTracer(TRACER_NAME, TRACER_VERSION),
      spanName,
      spanOptions,
      () => original.apply(this, args),
      recorder ? (failed, error) => recorder.record(spanName, (performance.now() - start) / 1000, error, failed) : undefined,
    );
  };
  Object.defineProperty(wrapped, 'name', { value: original.name });
  Object.defineProperty(wrapped, TRACED, { value: true });
  // Decorators applied earlier stored metadata on the original function; Nest
  // reads it from whatever function ends up on the prototype.
  for (const key of typeof Reflect.getOwnMetadataKeys === 'function' ? Reflect.getOwnMetadataKeys(original) : []) {
    Reflect.defineMetadata(key, Reflect.getOwnMetadata(key, original), wrapped);
  }
  return wrapped;
}
