import { cpuMicros, machineBusyMicros } from './server-process';

/**
 * Other processes may use this much CPU (cores) while a variant is measured;
 * more, and the measurement is repeated. 0.13 cores of test runs already cost
 * bare Fastify a quarter of its req/s in trials here.
 */
export const MAX_INTERFERENCE = 0.15;

/**
 * Measures the CPU the rest of the machine used while the harness measured:
 * the machine's busy time minus that of the harness, the sink and the server
 * under test. Other engineers' test runs share this machine; a measurement they
 * disturbed is worth repeating rather than reporting.
 */
export class InterferenceMeter {
  private readonly started = performance.now();
  private readonly machine = machineBusyMicros();
  private readonly ours: number;

  constructor(private readonly pids: number[]) {
    this.ours = this.ownCpu();
  }

  /** Other processes' CPU since construction, in cores (1 = one core busy all along). */
  read(): number {
    const seconds = (performance.now() - this.started) / 1000;
    const foreign = machineBusyMicros() - this.machine - (this.ownCpu() - this.ours);
    return Math.max(0, foreign / 1e6 / seconds);
  }

  private ownCpu(): number {
    const self = process.cpuUsage();
    let total = self.user + self.system;
    for (const pid of this.pids) {
      try {
        total += cpuMicros(pid);
      } catch {
        // Exited: it adds no more time, and the meter is only read while they all run.
      }
    }
    return total;
  }
}

/**
 * Waits until the rest of the machine has used less than `maxCores` over one
 * second, for at most `timeoutMs`. Resolves with the last reading.
 */
export async function waitForQuiet(pids: number[], maxCores: number, timeoutMs: number, onWait: (cores: number) => void): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  let warned = false;
  for (;;) {
    const meter = new InterferenceMeter(pids);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const cores = meter.read();
    if (cores <= maxCores || performance.now() > deadline) return cores;
    if (!warned) onWait(cores);
    warned = true;
  }
}
