/** The metrics pillar's cardinality guard (internal token). */
export const METRICS_GUARD = 'OBSERVABILITY:METRICS_GUARD';

/** Metric and label names, after the OpenTelemetry HTTP semantic conventions in Prometheus form. */
export const HTTP_SERVER_DURATION = 'http_server_request_duration_seconds';
export const HTTP_SERVER_ACTIVE = 'http_server_active_requests';
export const LABEL_METHOD = 'http_request_method';
export const LABEL_ROUTE = 'http_route';
export const LABEL_STATUS = 'http_response_status_code';
/** Counts observations moved to the overflow series by the cardinality guard. */
export const CARDINALITY_OVERFLOW = 'metrics_cardinality_overflow_total';

/** The `http_route` of every request no route matched: one bounded value, never the raw path. */
export const UNMATCHED_ROUTE = 'unmatched';
/** Label value every label takes in the series that absorbs observations past the cap. */
export const OVERFLOW_VALUE = '__overflow__';

/** `http.server.request.duration` bucket boundaries of the semantic conventions, in seconds. */
export const HTTP_DURATION_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/** Counts server errors by error class. */
export const APP_ERRORS = 'app_errors_total';
