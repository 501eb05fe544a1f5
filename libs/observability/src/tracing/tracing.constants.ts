/** Instrumentation scope of every span and metric the library makes. */
export { LIBRARY_SCOPE_NAME as TRACER_NAME } from '../sdk/library-scope';
// Kept in step with package.json by a unit test.
export const TRACER_VERSION = '0.1.0';

/** Span attributes the library sets that have no name in `@opentelemetry/semantic-conventions`. */
export { ATTR_REQUEST_ID } from '../work/work.constants';
/** Marks a span made by `@Traced` with the class and method it wraps. */
export const ATTR_CODE_FUNCTION = 'code.function.name';
