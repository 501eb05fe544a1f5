import { statfs } from 'node:fs/promises';

import type { HealthCheckOutcome, HealthIndicator } from '../../config/health-indicator.interface';
import { ObservabilityError } from '../../shared/observability.errors';

/** Options of {@link DiskSpaceHealthIndicator}. */
export interface DiskSpaceOptions {
  /** A path on the file system to watch (never shown in bodies). @default '/' */
  path?: string;
  /** Down when more than this fraction of the file system is used (0-1). @default 0.9 */
  maxUsedRatio?: number;
  /** @default 'disk' */
  name?: string;
}

/**
 * Up while the file system holding `path` is at most `maxUsedRatio` full
 * (counting the space available to this process, as `df` does).
 *
 * @example
 * new DiskSpaceHealthIndicator({ path: '/var/lib/app', maxUsedRatio: 0.95 }); // { "disk": { "status": "up", "usedRatio": 0.412, "maxUsedRatio": 0.95 } }
 */
export class DiskSpaceHealthIndicator implements HealthIndicator {
  readonly name: string;
  private readonly path: string;
  private readonly maxUsedRatio: number;

  constructor(options: DiskSpaceOptions = {}) {
    this.name = options.name ?? 'disk';
    this.path = options.path ?? '/';
    this.maxUsedRatio = options.maxUsedRatio ?? 0.9;
    if (typeof this.maxUsedRatio !== 'number' || !(this.maxUsedRatio >= 0 && this.maxUsedRatio <= 1)) {
      throw new ObservabilityError(
        `DiskSpaceHealthIndicator: maxUsedRatio must be a number from 0 to 1; got ${JSON.stringify(options.maxUsedRatio)}.`,
      );
    }
  }

  async check(): Promise<HealthCheckOutcome> {
    const { blocks, bavail, bfree } = await statfs(this.path);
    // Used = total - free; the capacity a process sees excludes blocks reserved for root.
    const used = blocks - bfree;
    const usable = used + bavail;
    const usedRatio = usable > 0 ? Math.round((used / usable) * 1000) / 1000 : 1;
    const maxUsedRatio = this.maxUsedRatio;
    return usedRatio <= maxUsedRatio
      ? { status: 'up', usedRatio, maxUsedRatio }
      : { status: 'down', usedRatio, maxUsedRatio, message: 'disk usage above maxUsedRatio' };
  }
}
