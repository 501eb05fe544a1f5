/**
 * Caps the number of label sets per metric. A label set seen before is always
 * admitted; a new one is admitted while the metric has fewer than `limit`.
 * The first refusal per metric calls `onFirstOverflow` (one warning), every
 * refusal calls `onOverflow` (a counter).
 */
export class CardinalityGuard {
  private readonly seen = new Map<string, Set<string>>();
  private readonly warned = new Set<string>();

  constructor(
    readonly limit: number,
    private readonly onOverflow: (metric: string) => void,
    private readonly onFirstOverflow: (metric: string, limit: number) => void,
  ) {}

  /** Whether this label set (as a key) may have a series of its own. */
  admit(metric: string, key: string): boolean {
    let keys = this.seen.get(metric);
    if (!keys) {
      keys = new Set();
      this.seen.set(metric, keys);
    }
    if (keys.has(key)) return true;
    if (keys.size < this.limit) {
      keys.add(key);
      return true;
    }
    this.onOverflow(metric);
    if (!this.warned.has(metric)) {
      this.warned.add(metric);
      this.onFirstOverflow(metric, this.limit);
    }
    return false;
  }

  /** Label sets admitted so far for a metric. */
  size(metric: string): number {
    return this.seen.get(metric)?.size ?? 0;
  }
}
