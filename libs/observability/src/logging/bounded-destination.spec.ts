import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import pino, { type LoggerOptions } from 'pino';

import { BoundedDestination, type BoundedDestinationOptions } from './bounded-destination';

/**
 * A real pipe (a FIFO) between a BoundedDestination and a reader that does
 * not read until told to: what a log shipper that stopped looks like from the
 * application. Its writing end is a libuv pipe, as process.stdout is for a pipe.
 */
class StalledPipe {
  readonly writer: Socket;
  text = '';
  private reader: Socket | undefined;
  private ended: Promise<void> | undefined;

  private constructor(
    private readonly dir: string,
    private readonly readFd: number,
    readonly writeFd: number,
  ) {
    this.writer = new Socket({ fd: writeFd, readable: false, writable: true });
  }

  static open(): StalledPipe {
    const dir = mkdtempSync(join(tmpdir(), 'bounded-destination-'));
    const path = join(dir, 'pipe');
    execFileSync('mkfifo', [path]);
    // The reading end first: opening the writing end of a FIFO nobody reads fails (ENXIO).
    const readFd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    return new StalledPipe(dir, readFd, openSync(path, constants.O_WRONLY | constants.O_NONBLOCK));
  }

  destination(options?: BoundedDestinationOptions): BoundedDestination {
    return BoundedDestination.socket(this.writer, this.writeFd, options);
  }

  /** What is in the pipe right now, read synchronously (nothing if empty). */
  readNow(): string {
    const buffer = Buffer.alloc(1 << 16);
    try {
      return buffer.toString('utf8', 0, readSync(this.readFd, buffer));
    } catch {
      return '';
    }
  }

  /** The reader starts reading (and never stops). */
  resume(): void {
    if (this.reader) return;
    const reader = new Socket({ fd: this.readFd, readable: true, writable: false });
    this.reader = reader;
    reader.setEncoding('utf8').on('data', (chunk: string) => (this.text += chunk));
    this.ended = new Promise((resolve) => reader.once('end', resolve));
  }

  /** The process writing ends (its pending writes with it); resolves with every line the reader got. */
  async endAndReadAll(): Promise<string[]> {
    this.writer.destroy();
    this.resume();
    await this.ended;
    return this.lines();
  }

  /** Waits until the reader has seen `text`. */
  async readUntil(text: string, timeoutMs = 5_000): Promise<void> {
    this.resume();
    const deadline = Date.now() + timeoutMs;
    while (!this.text.includes(text)) {
      if (Date.now() > deadline)
        throw new Error(`the reader did not see ${JSON.stringify(text)} within ${timeoutMs} ms; it saw:\n${this.text}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  lines(): string[] {
    return this.text.split('\n').filter((line) => line !== '');
  }

  close(): void {
    this.writer.destroy();
    if (this.reader) this.reader.destroy();
    else closeSync(this.readFd);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const pipes: StalledPipe[] = [];
const destinations: BoundedDestination[] = [];

function stalledPipe(): StalledPipe {
  const pipe = StalledPipe.open();
  pipes.push(pipe);
  return pipe;
}

function track(destination: BoundedDestination): BoundedDestination {
  destinations.push(destination);
  return destination;
}

afterEach(async () => {
  await Promise.all(destinations.splice(0).map((d) => d.close(0)));
  for (const pipe of pipes.splice(0)) pipe.close();
});

/** The module's line shape: the level as its label, first. */
const LABELS: LoggerOptions = { formatters: { level: (label) => ({ level: label }) } };
/** A line of about 200 characters, numbered. */
const line = (n: number) => `${JSON.stringify({ level: 'info', n, pad: 'x'.repeat(180) })}\n`;

/** The lines that are not one whole record, for a failure message. */
function cut(lines: string[]): string[] {
  return lines.filter((l) => {
    try {
      return typeof JSON.parse(l) !== 'object';
    } catch {
      return true;
    }
  });
}

/** Whether `part` is `whole` with some elements left out, the rest in order. */
function inOrderSubset(part: string[], whole: string[]): boolean {
  let i = 0;
  for (const item of part) {
    while (i < whole.length && whole[i] !== item) i++;
    if (i++ >= whole.length) return false;
  }
  return true;
}

describe('BoundedDestination', () => {
  it('writes every line whole and in order, long and non-ASCII ones too', async () => {
    const pipe = stalledPipe();
    pipe.resume();
    const destination = track(pipe.destination());
    const written: string[] = [];
    for (let n = 0; n < 2_000; n++) {
      const text = n % 100 === 0 ? 'é'.repeat(3_000) : n % 7 === 0 ? 'ü€' : 'ok';
      written.push(`${JSON.stringify({ level: 'info', n, text })}\n`);
      destination.write(written[n]!);
    }
    await destination.close(5_000);
    expect({ lines: await pipe.endAndReadAll(), dropped: destination.droppedLines }).toEqual({
      lines: written.map((l) => l.slice(0, -1)),
      dropped: 0,
    });
  });

  it('holds at most its cap while the reader is stopped, and drops whole lines, each counted', async () => {
    const pipe = stalledPipe();
    const cap = 64 * 1024;
    const destination = track(pipe.destination({ maxBufferedBytes: cap }));
    const written: string[] = [];
    let most = 0;
    for (let n = 0; n < 5_000; n++) {
      written.push(line(n));
      destination.write(written[n]!);
      most = Math.max(most, destination.bufferedBytes);
      // Let the pipe take what it can, as between requests.
      if (n % 500 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    expect({ most, withinCap: most <= cap, dropped: destination.droppedLines > 0 }).toEqual({ most, withinCap: true, dropped: true });

    pipe.resume();
    await destination.close(5_000);
    const read = await pipe.endAndReadAll();
    expect(cut(read)).toEqual([]);
    expect(
      inOrderSubset(
        read,
        written.map((l) => l.slice(0, -1)),
      ),
    ).toBe(true);
    // Every line is either read or counted as dropped.
    expect({ read: read.length, dropped: destination.droppedLines }).toEqual({
      read: read.length,
      dropped: written.length - read.length,
    });
  });

  it.each([
    ['labels', LABELS],
    ['numbers', {}],
  ])('when full, drops info first and keeps warn, error and fatal (levels as %s)', async (_, loggerOptions: LoggerOptions) => {
    const pipe = stalledPipe();
    const destination = track(pipe.destination({ maxBufferedBytes: 64 * 1024 }));
    const logger = pino(loggerOptions, destination);
    // The pipe full first (pino's fatal() calls flushSync, which would move lines into a pipe with room)…
    for (let before = -1; destination.bufferedBytes !== before;) {
      for (let n = 0; n < 100; n++) logger.info('filler');
      before = destination.bufferedBytes;
      destination.flushSync();
    }
    // …then the buffer, with short lines: full to within one of them, too full for a longer info line.
    while (destination.droppedLines === 0) logger.info('filler');
    const droppedBefore = destination.droppedLines;
    for (let n = 0; n < 10; n++) {
      logger.info({ n }, 'late info');
      logger.warn({ n }, 'late warn');
      logger.error({ n }, 'late error');
      logger.fatal({ n }, 'late fatal');
    }
    expect(destination.droppedLines - droppedBefore).toBe(10);

    pipe.resume();
    await destination.close(5_000);
    const messages = (await pipe.endAndReadAll()).map((l) => (JSON.parse(l) as { msg: string }).msg).filter((m) => m !== 'filler');
    expect(messages).toEqual(Array.from({ length: 10 }, () => ['late warn', 'late error', 'late fatal']).flat());
  });

  it('says once, when the reader caught up, how many lines the stall cost', async () => {
    const pipe = stalledPipe();
    const reports: [number, number][] = [];
    const destination = track(
      pipe.destination({
        maxBufferedBytes: 64 * 1024,
        onDropped: (dropped, total) => {
          reports.push([dropped, total]);
          // As the module does: the warning goes through the logger.
          logger.warn({ dropped_lines: dropped }, 'log output stalled');
        },
      }),
    );
    const logger = pino(LABELS, destination);
    for (let n = 0; n < 2_000; n++) logger.info({ n, pad: 'x'.repeat(180) }, 'filler');
    const dropped = destination.droppedLines;
    expect(dropped).toBeGreaterThan(0);
    expect(reports).toEqual([]);

    await pipe.readUntil('log output stalled');
    logger.info('after');
    await destination.close(5_000);
    const records = (await pipe.endAndReadAll()).map((l) => JSON.parse(l) as { level: string; msg: string; dropped_lines?: number });
    expect(reports).toEqual([[dropped, dropped]]);
    expect(records.filter((r) => r.level === 'warn')).toEqual([
      expect.objectContaining({ msg: 'log output stalled', dropped_lines: dropped }),
    ]);
    expect(records.at(-1)?.msg).toBe('after');
    expect(destination.droppedLines).toBe(dropped);
  });

  it('close(timeoutMs) returns within its timeout while the reader is stopped, counting what is left as dropped', async () => {
    const pipe = stalledPipe();
    const destination = track(pipe.destination());
    const written: string[] = [];
    for (let n = 0; n < 2_000; n++) destination.write((written[n] = line(n)));

    const started = performance.now();
    await destination.close(300);
    const tookMs = performance.now() - started;
    expect({ tookMs, inTime: tookMs >= 290 && tookMs < 300 + 200 }).toEqual({ tookMs, inTime: true });

    // The process ends, what it could not write with it; the reader then gets the rest of the pipe.
    const read = await pipe.endAndReadAll();
    expect(cut(read)).toEqual([]);
    expect(read).toEqual(written.slice(0, read.length).map((l) => l.slice(0, -1)));
    expect(destination.droppedLines).toBe(written.length - read.length);
  });

  it('flushSync writes what is buffered at once, and gives up at once on a stalled pipe without cutting a line', async () => {
    const pipe = stalledPipe();
    const destination = track(pipe.destination());
    destination.write(line(0));
    destination.write(line(1));
    // Below a batch: nothing written yet, until flushSync, which writes before returning.
    expect(pipe.readNow()).toBe('');
    destination.flushSync();
    expect(pipe.readNow()).toBe(line(0) + line(1));

    const written: string[] = [];
    for (let n = 0; n < 2_000; n++) destination.write((written[n] = line(n)));
    destination.flushSync();
    destination.flushSync();
    expect(destination.bufferedBytes).toBeGreaterThan(0);

    await destination.close(0);
    const read = await pipe.endAndReadAll();
    expect(cut(read)).toEqual([]);
    expect(read).toEqual(written.slice(0, read.length).map((l) => l.slice(0, -1)));
    expect(destination.droppedLines).toBe(written.length - read.length);
  });

  it('appends to a file, making its directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bounded-destination-'));
    try {
      const path = join(dir, 'logs', 'app.log');
      const destination = BoundedDestination.file(path);
      const written = Array.from({ length: 1_000 }, (_, n) => line(n));
      for (const l of written) destination.write(l);
      await destination.close(5_000);
      expect(readFileSync(path, 'utf8')).toBe(written.join(''));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
