/**
 * Reads the active OpenTelemetry span's ids when tracing is loaded, without making
 * OpenTelemetry a hard dependency of every log line.
 */
type SpanContextReader = () => { trace_id?: string; span_id?: string };

let reader: SpanContextReader = () => ({});

export const trace = {
  /** Installed by the tracing setup once the SDK has started. */
  setReader(next: SpanContextReader): void {
    reader = next;
  },
  currentIds(): { trace_id?: string; span_id?: string } {
    return reader();
  },
};
