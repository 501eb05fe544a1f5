import type { LogRecord } from 'nestjs-observability/testing';

import type { ChildApp } from '../utils/child-app';

/** A parsed stdout line with its position, so that a scenario can take the lines of one phase. */
export type Line = LogRecord & { readonly index: number };

/**
 * Parses a child app's stdout incrementally: `ChildApp.records` parses every line on each
 * call, which is too slow for the tens of thousands of lines a load run writes.
 */
export class LogReader {
  private readonly parsed: Line[] = [];
  private next = 0;

  constructor(private readonly app: ChildApp) {}

  /** Every JSON line so far. */
  get all(): readonly Line[] {
    const lines = this.app.lines;
    for (; this.next < lines.length; this.next++) {
      try {
        this.parsed.push({ ...(JSON.parse(lines[this.next]) as LogRecord), index: this.next });
      } catch {
        // Not JSON: stdout of something else than the logger, kept in app.lines only.
      }
    }
    return this.parsed;
  }

  /** A mark for {@link since}: the number of lines so far. */
  mark(): number {
    return this.app.lines.length;
  }

  since(mark: number): Line[] {
    return this.all.filter((line) => line.index >= mark);
  }

  /** Polls until `done(lines)` holds or `timeoutMs` passes; resolves with whether it held. */
  async until(done: (lines: readonly Line[]) => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (done(this.all)) return true;
      if (Date.now() > deadline) return false;
      await sleep(100);
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
