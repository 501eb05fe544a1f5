/**
 * Instrumentation scope name of the spans the library makes: its package name
 * (STYLE.md, "Tracer and meter scope"). Defined at this layer because the
 * scrubbing span processor tells the library's own spans (scrubbed where they are
 * made) from everyone else's by it, and sdk/ may not import the tracing pillar;
 * `TRACER_NAME` in tracing/ re-exports it.
 */
export const LIBRARY_SCOPE_NAME = 'nestjs-observability';
