import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The parts of a V8 `.cpuprofile` the analysis reads. */
export interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame; children?: number[] }[];
  /** Microseconds, CLOCK_MONOTONIC (the clock of `process.hrtime`). */
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

interface CallFrame {
  functionName: string;
  url: string;
  /** 0-based. */
  lineNumber: number;
  columnNumber: number;
}

/** A function or package and its share of the profiled CPU time. */
export interface Share {
  name: string;
  ms: number;
  /** Fraction of the busy (non-idle) time in the window. */
  fraction: number;
}

/** What the profile says about where the server's time went. */
export interface ProfileReport {
  /** Whether samples were limited to the load window (else: the whole process life). */
  windowed: boolean;
  /** Busy time sampled in the window, ms. */
  busyMs: number;
  /** Self time by package (`nestjs-observability`, `pino`, `node core`, `(garbage collector)` …). */
  byPackage: Share[];
  /** Top functions by self time, any package. */
  topSelf: Share[];
  /**
   * Fraction of busy time that is telemetry work: under a library frame with no
   * application or framework frame between it and the leaf (what the library
   * and its dependencies do, not the app code it wraps), or in a telemetry
   * package outside any request (batch export, log writes completing).
   */
  attributable: number;
  /** The part of {@link attributable} that runs outside requests. */
  background: number;
  /** Leaf functions of the attributable samples: where telemetry time is spent. */
  attributableLeaves: Share[];
  /** Library functions by inclusive time over the attributable samples. */
  libraryFunctions: Share[];
  /** Library functions by self time. */
  librarySelf: Share[];
}

const LIBRARY_PACKAGE = 'nestjs-observability';
const IDLE = '(idle)';
/** Packages of the telemetry pipeline: the library's dependencies, and the stacks it is compared with. */
const TELEMETRY =
  /^(@opentelemetry\/|@sentry\/|@fastify\/otel$|pino|sonic-boom$|thread-stream$|fast-redact$|quick-format-unescaped$|safe-stable-stringify$|on-exit-leak-free$|atomic-sleep$|prom-client$|tdigest$|bintrees$|nestjs-pino$|nestjs-otel$|@willsoto\/|protobufjs$)/;

/** Frames that are neither the app nor telemetry: runtime, engine, pseudo-frames. */
function isNeutral(pkg: string): boolean {
  return pkg === 'node core' || pkg.startsWith('(');
}

/**
 * Reads a CPU profile and attributes its samples. Each sample counts for the
 * time until the next one. `window` ([start, end] µs on the profile's clock)
 * keeps the samples of the load phase only, without start-up and shutdown.
 */
export function analyseProfile(profile: CpuProfile, window: [number, number] | undefined, top = 15): ProfileReport {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  const windowed = window !== undefined && window[0] < profile.endTime && window[1] > profile.startTime;
  const selfUs = new Map<number, number>();
  let time = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    time += profile.timeDeltas[i] ?? 0;
    const duration = profile.timeDeltas[i + 1] ?? 0;
    if (windowed && (time < window[0] || time > window[1])) continue;
    selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + duration);
  }

  const names = new FrameNames();
  const selfByFunction = new Map<string, number>();
  const selfByPackage = new Map<string, number>();
  const librarySelf = new Map<string, number>();
  const libraryInclusive = new Map<string, number>();
  const leaves = new Map<string, number>();
  let busy = 0;
  let attributable = 0;
  let background = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node || node.callFrame.functionName === IDLE) continue;
    busy += us;
    const frame = node.callFrame;
    const name = names.of(frame);
    const pkg = packageOf(frame);
    add(selfByFunction, name, us);
    add(selfByPackage, pkg, us);
    if (pkg === LIBRARY_PACKAGE) add(librarySelf, name, us);

    // From the leaf up: telemetry work ends where an app or framework frame
    // appears (the library called back into the app), or at the root.
    let telemetryFrames = 0;
    let sawLibrary = false;
    let appFrame = false;
    const libraryFrames = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const f = byId.get(at)?.callFrame;
      if (!f) continue;
      const p = packageOf(f);
      if (p === LIBRARY_PACKAGE) {
        sawLibrary = true;
        libraryFrames.add(names.of(f));
      } else if (TELEMETRY.test(p)) {
        telemetryFrames++;
      } else if (!isNeutral(p)) {
        appFrame = true;
        break;
      }
    }
    // Telemetry called from app code (a logger call, an instrumentation's wrapper) counts too.
    if (!sawLibrary && telemetryFrames === 0) continue;
    attributable += us;
    if (!sawLibrary && !appFrame) background += us;
    add(leaves, `${name} [${pkg}]`, us);
    for (const fn of libraryFrames) add(libraryInclusive, fn, us);
  }
  const shares = (map: Map<string, number>, n = top): Share[] =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({ name, ms: us / 1000, fraction: busy > 0 ? us / busy : 0 }));
  return {
    windowed,
    busyMs: busy / 1000,
    byPackage: shares(selfByPackage, 12),
    topSelf: shares(selfByFunction),
    attributable: busy > 0 ? attributable / busy : 0,
    background: busy > 0 ? background / busy : 0,
    attributableLeaves: shares(leaves, 20),
    libraryFunctions: shares(libraryInclusive),
    librarySelf: shares(librarySelf),
  };
}

/** Reads a `.cpuprofile` file. */
export function readProfile(file: string): CpuProfile {
  return JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
}

function add(map: Map<string, number>, key: string, us: number): void {
  map.set(key, (map.get(key) ?? 0) + us);
}

/** The package a frame's code belongs to: the innermost node_modules entry, `node core`, or a V8 pseudo-frame. */
function packageOf(frame: CallFrame): string {
  const url = frame.url;
  if (url === '') return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  if (url.startsWith('node:')) return 'node core';
  if (url.includes('/libs/observability/')) return LIBRARY_PACKAGE;
  const match = /.*\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (match) return match[1];
  return url.includes('/dist/bench/') ? 'bench app' : 'other';
}

/**
 * Readable names: `file:function:line`. Library frames are mapped through the
 * build's source maps to their TypeScript file and line under libs/observability/src.
 */
class FrameNames {
  private readonly cache = new Map<string, string>();
  private readonly maps = new Map<string, SourceMap | null>();

  of(frame: CallFrame): string {
    const key = `${frame.url}\u0000${frame.functionName}\u0000${frame.lineNumber}\u0000${frame.columnNumber}`;
    let name = this.cache.get(key);
    if (name === undefined) {
      name = this.describe(frame);
      this.cache.set(key, name);
    }
    return name;
  }

  private describe(frame: CallFrame): string {
    const fn = frame.functionName || '(anonymous)';
    if (frame.url === '') return fn;
    if (packageOf(frame) === LIBRARY_PACKAGE) {
      const mapped = this.mapToSource(frame);
      if (mapped) return `${mapped.file}:${fn}:${mapped.line}`;
    }
    const file = frame.url.replace(/^file:\/\//, '').replace(/.*\/node_modules\//, '');
    return `${file}:${fn}:${frame.lineNumber + 1}`;
  }

  private mapToSource(frame: CallFrame): { file: string; line: number } | undefined {
    let path: string;
    try {
      path = frame.url.startsWith('file:') ? fileURLToPath(frame.url) : frame.url;
    } catch {
      return undefined;
    }
    let map = this.maps.get(path);
    if (map === undefined) {
      map = existsSync(`${path}.map`) ? new SourceMap(JSON.parse(readFileSync(`${path}.map`, 'utf8'))) : null;
      this.maps.set(path, map);
    }
    const entry = map?.findEntry(frame.lineNumber, frame.columnNumber);
    if (!entry || !('originalSource' in entry)) return undefined;
    const source = entry.originalSource.replace(/\\/g, '/');
    const at = source.lastIndexOf('/src/');
    return { file: at === -1 ? source : `libs/observability${source.slice(at)}`, line: entry.originalLine + 1 };
  }
}
