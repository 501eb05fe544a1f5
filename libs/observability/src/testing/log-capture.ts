import { Writable } from 'node:stream';

/** One parsed JSON log line. */
export type LogRecord = Record<string, unknown> & { level?: string; msg?: string };

/**
 * A pino destination that keeps every line in memory, parsed. Pass it as
 * `logging.destination` and assert on real log output.
 *
 * @example
 * const logs = new LogCapture();
 * ObservabilityModule.forRoot({ logging: { destination: logs } });
 * // … make a request …
 * expect(logs.find((l) => l.msg === 'request completed')?.route).toBe('/users/:id');
 */
export class LogCapture extends Writable {
  /** Raw lines, in order. */
  readonly lines: string[] = [];

  constructor() {
    super({ decodeStrings: false });
  }

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    for (const line of chunk.toString().split('\n')) if (line.trim() !== '') this.lines.push(line);
    callback();
  }

  /** Every line, parsed. Lines that are not JSON (pretty format) are skipped. */
  get records(): LogRecord[] {
    const out: LogRecord[] = [];
    for (const line of this.lines) {
      try {
        out.push(JSON.parse(line) as LogRecord);
      } catch {
        // A non-JSON line (pretty output) has no record.
      }
    }
    return out;
  }

  /** The first record for which `predicate` holds. */
  find(predicate: (record: LogRecord) => boolean): LogRecord | undefined {
    return this.records.find(predicate);
  }

  /** Every record for which `predicate` holds. */
  filter(predicate: (record: LogRecord) => boolean): LogRecord[] {
    return this.records.filter(predicate);
  }

  /** The whole output as one string, for "appears nowhere" assertions. */
  text(): string {
    return this.lines.join('\n');
  }

  /** Forgets what was captured. */
  clear(): void {
    this.lines.length = 0;
  }
}
