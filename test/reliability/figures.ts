import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname } from 'node:path';

/** One figure of one scenario: what was measured, against which criterion, and whether it held. */
export interface Row {
  scenario: string;
  figure: string;
  measured: string;
  /** The pass criterion; empty for a figure reported without one. */
  criterion: string;
  /** undefined: a figure without a criterion. */
  pass?: boolean;
}

/** A scenario checked by another suite, listed so that RELIABILITY.md covers every fault of the issue. */
export interface Elsewhere {
  scenario: string;
  suite: string;
  asserts: string;
}

/**
 * The figures of a run, collected in memory as the scenarios run and rendered once, in
 * `afterAll`, as one markdown table.
 */
export class Figures {
  readonly rows: Row[] = [];
  readonly notes: Array<{ scenario: string; text: string }> = [];
  readonly elsewhere: Elsewhere[] = [];
  private readonly seconds = new Map<string, number>();

  /** Adds a row and returns it, so that the caller can assert on the rows it added. */
  add(scenario: string, figure: string, measured: string, criterion = '', pass?: boolean): Row {
    const row = { scenario, figure, measured, criterion, pass };
    this.rows.push(row);
    return row;
  }

  note(scenario: string, text: string): void {
    this.notes.push({ scenario, text });
  }

  took(scenario: string, seconds: number): void {
    this.seconds.set(scenario, (this.seconds.get(scenario) ?? 0) + seconds);
  }

  render(title: string, mode: string): string {
    const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
    const result = (row: Row) => (row.pass === undefined ? '—' : row.pass ? 'pass' : '**FAIL**');
    const failed = this.rows.filter((row) => row.pass === false).length;
    const checked = this.rows.filter((row) => row.pass !== undefined).length;
    const out = [
      `# ${title}`,
      '',
      `Written by \`test/reliability/faults.e2e-spec.ts\` (${mode}) on ${new Date().toISOString()}: Node ${process.version},`,
      `${cpus().length} CPU(s) (${cpus()[0]?.model ?? 'unknown'}). The hello app runs as a child process with the register`,
      'preload on Fastify, as `ChildApp` starts it; collectors and load run in the Jest process, on 127.0.0.1.',
      '',
      `${checked - failed} of ${checked} criteria hold, ${failed} fail.`,
      '',
      '| Scenario | Figure | Measured | Criterion | Result |',
      '| --- | --- | --- | --- | --- |',
      ...this.rows.map(
        (row) => `| ${cell(row.scenario)} | ${cell(row.figure)} | ${cell(row.measured)} | ${cell(row.criterion)} | ${result(row)} |`,
      ),
      '',
    ];
    if (this.seconds.size > 0) {
      out.push('## Time per scenario', '', '| Scenario | Seconds |', '| --- | --- |');
      for (const [scenario, seconds] of this.seconds) out.push(`| ${cell(scenario)} | ${seconds.toFixed(1)} |`);
      out.push('');
    }
    if (this.notes.length > 0) {
      out.push('## Notes', '');
      for (const note of this.notes) out.push(`- **${note.scenario}**: ${note.text}`);
      out.push('');
    }
    if (this.elsewhere.length > 0) {
      out.push('## Faults covered by other suites', '', '| Fault | Suite | What it asserts |', '| --- | --- | --- |');
      for (const e of this.elsewhere) out.push(`| ${cell(e.scenario)} | \`${e.suite}\` | ${cell(e.asserts)} |`);
      out.push('');
    }
    return out.join('\n');
  }

  write(path: string, title: string, mode: string): void {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, this.render(title, mode));
  }
}

/** The rows that failed, one line each, for an assertion's message. */
export function failures(rows: readonly Row[]): string[] {
  return rows
    .filter((row) => row.pass === false)
    .map((row) => `${row.scenario} / ${row.figure}: measured ${row.measured}; criterion ${row.criterion}`);
}
