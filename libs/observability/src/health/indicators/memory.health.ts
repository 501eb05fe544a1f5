import type { HealthCheckOutcome, HealthIndicator } from '../../config/health-indicator.interface';
import { ObservabilityError } from '../../shared/observability.errors';

/** Options of the memory indicators. */
export interface MemoryIndicatorOptions {
  /** Down above this many bytes. */
  maxBytes: number;
  /** @default 'heap' or 'rss' */
  name?: string;
}

/**
 * Up while the V8 heap in use stays at or under `maxBytes`.
 *
 * @example
 * new HeapHealthIndicator({ maxBytes: 512 * 1024 ** 2 }); // { "heap": { "status": "up", "usedBytes": 73400320, "maxBytes": 536870912 } }
 */
export class HeapHealthIndicator implements HealthIndicator {
  readonly name: string;
  private readonly maxBytes: number;

  constructor(options: MemoryIndicatorOptions) {
    this.name = options.name ?? 'heap';
    this.maxBytes = byteLimit(options.maxBytes, 'HeapHealthIndicator');
  }

  check(): HealthCheckOutcome {
    return limit(process.memoryUsage().heapUsed, this.maxBytes, 'heap in use above maxBytes');
  }
}

/**
 * Up while the resident set size (all memory the process holds) stays at or under `maxBytes`.
 *
 * @example
 * new RssHealthIndicator({ maxBytes: 1024 ** 3 }); // { "rss": { "status": "up", "usedBytes": 157286400, "maxBytes": 1073741824 } }
 */
export class RssHealthIndicator implements HealthIndicator {
  readonly name: string;
  private readonly maxBytes: number;

  constructor(options: MemoryIndicatorOptions) {
    this.name = options.name ?? 'rss';
    this.maxBytes = byteLimit(options.maxBytes, 'RssHealthIndicator');
  }

  check(): HealthCheckOutcome {
    return limit(process.memoryUsage.rss(), this.maxBytes, 'resident memory above maxBytes');
  }
}

function limit(usedBytes: number, maxBytes: number, message: string): HealthCheckOutcome {
  return usedBytes <= maxBytes ? { status: 'up', usedBytes, maxBytes } : { status: 'down', usedBytes, maxBytes, message };
}

function byteLimit(value: number, owner: string): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new ObservabilityError(`${owner}: maxBytes must be a whole number of bytes, at least 1; got ${JSON.stringify(value)}.`);
  }
  return value;
}
