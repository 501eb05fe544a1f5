import { createWriteStream, mkdirSync, type WriteStream, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';

/**
 * Linux's PIPE_BUF: a write of at most this many bytes to a pipe happens whole
 * or not at all (EAGAIN), never in part. Writes to standard output stay within
 * it, so that a reader that stops mid-stream never leaves a line cut in two.
 */
const PIPE_BUF = 4096;

/** Options of a {@link BoundedDestination}; the defaults are what the module uses. */
export interface BoundedDestinationOptions {
  /**
   * The most the buffer holds, in characters (bytes, for ASCII lines). Lines
   * below `warn` are dropped once three quarters of it are used; `warn` and
   * above only when it is full.
   * @default 16 MiB
   */
  maxBufferedBytes?: number;
  /** Lines are written in batches of about this many bytes… @default 4096 */
  batchBytes?: number;
  /** …and at least this often, so a quiet service's lines are not held back. @default 250 */
  flushIntervalMs?: number;
  /**
   * Called once per stall, when the buffer has drained after lines were
   * dropped: with the lines dropped during that stall and since the start.
   */
  onDropped?: (dropped: number, total: number) => void;
  /** Called once when the destination fails for good (the reader closed the pipe, a full disk). */
  onError?: (error: Error) => void;
}

/** Where the lines go, and how it may be written to. */
interface Sink {
  readonly out: Writable;
  /** The file descriptor for the synchronous best-effort flush, once known. */
  fd(): number | undefined;
  /** The most bytes handed to `out` at once. */
  readonly maxWriteBytes: number;
  /**
   * Whether a write may be made synchronously while `out` still holds data: a
   * file, yes (appends stay whole); a pipe or socket, no (`out` holds data only
   * when the reader is behind, and a line written past it would come out first).
   */
  readonly syncWhileWriting: boolean;
  /** `process.stdout`, which others write to too: its errors are ours only while a write of ours is in it. */
  readonly shared: boolean;
}

/** How long a synchronous flush may take at most: it runs at a crash or at exit, never on the request path. */
const SYNC_FLUSH_MAX_MS = 100;
/** Written lines are forgotten in one go once this many have piled up at the front of the queue. */
const COMPACT_AFTER_LINES = 1024;

/**
 * The log destination for standard output and files in JSON mode: pino hands
 * it one line per record; it writes them asynchronously in batches of whole
 * lines, one write at a time, and holds at most `maxBufferedBytes` while the
 * reader is slow or stopped. When the buffer is full, new lines are dropped
 * whole and counted (`droppedLines`) — below `warn` first — and one warning
 * line says so once the reader caught up. Nothing in it ever waits in a loop:
 * `close(timeoutMs)` gives up after its timeout and `flushSync()` after one
 * EAGAIN (or 100 ms), counting what is left as dropped. Sonic-boom, which
 * it replaces, buffers without limit, cuts a line where a pipe fills, and
 * flushes at shutdown by retrying EAGAIN with a blocking sleep, forever.
 * @internal
 */
export class BoundedDestination {
  // The queue: lines[head..] are waiting; lines before head are written and cleared.
  private readonly lines: string[] = [];
  private head = 0;
  private queuedChars = 0;
  // The one write in progress.
  private writing = false;
  private writingChars = 0;
  private writingLines = 0;
  private dropped = 0;
  private droppedThisStall = 0;
  private failed = false;
  /** Whether the stream's errors are ours to handle: while there is a write of ours in it. */
  private listening = false;
  /** Closed: no more batching, every line is written at once. */
  private closed = false;
  private readonly drainWaiters = new Set<() => void>();
  private readonly softCap: number;
  private readonly hardCap: number;
  private readonly batchBytes: number;
  private readonly timer: NodeJS.Timeout;
  private readonly onDropped: ((dropped: number, total: number) => void) | undefined;
  private readonly onError: ((error: Error) => void) | undefined;
  private readonly afterWrite = (error?: Error | null) => this.written(error);
  private readonly onStreamError = (error: Error) => this.fail(error);
  // A process that exits (process.exit, the end of the event loop) gets what can be written at once.
  private readonly onExit = () => this.flushSync();

  constructor(
    private readonly sink: Sink,
    options: BoundedDestinationOptions = {},
  ) {
    const max = options.maxBufferedBytes ?? 16 * 1024 * 1024;
    this.hardCap = max;
    this.softCap = Math.floor((max * 3) / 4);
    this.batchBytes = options.batchBytes ?? 4096;
    this.onDropped = options.onDropped;
    this.onError = options.onError;
    // A stream of our own: its errors (a file that cannot be opened) are ours from the start.
    if (!sink.shared) this.listen();
    process.on('exit', this.onExit);
    // The timer bounds how long a line waits; it never keeps the process alive.
    this.timer = setInterval(() => this.writeNext(), options.flushIntervalMs ?? 250);
    this.timer.unref();
  }

  /**
   * Standard output. A pipe or socket is written through `process.stdout`
   * (libuv, non-blocking, in order with `console.log`), in writes that a pipe
   * takes whole; a file or device through a write stream of its own.
   */
  static stdout(options?: BoundedDestinationOptions): BoundedDestination {
    const stdout = process.stdout;
    if (stdout instanceof Socket) {
      return new BoundedDestination({ out: stdout, fd: () => 1, maxWriteBytes: PIPE_BUF, syncWhileWriting: false, shared: true }, options);
    }
    return BoundedDestination.fileSink(createWriteStream('', { fd: 1, autoClose: false }), options, 1);
  }

  /** A file, appended to (its directory made if missing). */
  static file(path: string, options?: BoundedDestinationOptions): BoundedDestination {
    mkdirSync(dirname(path), { recursive: true });
    return BoundedDestination.fileSink(createWriteStream(path, { flags: 'a' }), options);
  }

  /** A pipe or socket this process writes to (tests: a pipe whose reader stops). */
  static socket(out: Socket, fd: number, options?: BoundedDestinationOptions): BoundedDestination {
    return new BoundedDestination({ out, fd: () => fd, maxWriteBytes: PIPE_BUF, syncWhileWriting: false, shared: false }, options);
  }

  private static fileSink(out: WriteStream, options?: BoundedDestinationOptions, knownFd?: number): BoundedDestination {
    // A path is opened asynchronously: until then, there is nothing to flush synchronously to.
    let fd = knownFd;
    if (fd === undefined) out.once('open', (opened: number) => (fd = opened));
    return new BoundedDestination({ out, fd: () => fd, maxWriteBytes: 64 * 1024, syncWhileWriting: true, shared: false }, options);
  }

  /** Lines dropped since start: the buffer was full, the destination failed, or `close` gave up on them. */
  get droppedLines(): number {
    return this.dropped;
  }

  /** Characters held: queued and being written. */
  get bufferedBytes(): number {
    return this.queuedChars + this.writingChars;
  }

  /** pino's write: one whole line (the per-record path: no allocation, no I/O unless a batch is full). */
  write(line: string): boolean {
    const held = this.queuedChars + this.writingChars + line.length;
    if (this.failed || (held > this.softCap && (held > this.hardCap || belowWarn(line)))) {
      this.dropped++;
      this.droppedThisStall++;
      return true;
    }
    this.lines.push(line);
    this.queuedChars += line.length;
    if (!this.writing && (this.queuedChars >= this.batchBytes || this.closed || this.drainWaiters.size > 0)) this.writeNext();
    return true;
  }

  /** pino's `logger.flush(cb)`: writes out what is buffered now, calls back once it is written. */
  flush(callback?: (error?: Error) => void): void {
    this.whenDrained(() => callback?.());
  }

  /**
   * Writes what it can at once, synchronously, in whole lines: for a process
   * about to end (an uncaught exception). Stops at the first EAGAIN (the
   * reader is behind), or after 100 ms; what is left is written asynchronously.
   */
  flushSync(): void {
    const fd = this.sink.fd();
    if (this.failed || fd === undefined || (!this.sink.syncWhileWriting && this.sink.out.writableLength > 0)) return;
    const deadline = performance.now() + SYNC_FLUSH_MAX_MS;
    while (this.head < this.lines.length && performance.now() < deadline) {
      const [end, chunk] = this.nextChunk();
      const bytes = Buffer.from(chunk);
      let done: number;
      try {
        done = writeSync(fd, bytes);
      } catch {
        // EAGAIN: the reader is behind; anything else: the async write reports it.
        break;
      }
      // Only a line longer than PIPE_BUF can be taken in part: finish it, within the deadline.
      while (done < bytes.length && performance.now() < deadline) {
        try {
          done += writeSync(fd, bytes, done);
        } catch {
          // EAGAIN: try again until the deadline; the line is already started.
        }
      }
      const lines = end - this.head;
      if (done < bytes.length) this.dropped += lines;
      this.consume(end);
      if (done < bytes.length) break;
    }
    if (!this.writing && this.head >= this.lines.length) this.drained();
  }

  /**
   * Stops batching and waits, at most `timeoutMs`, until every buffered line
   * is written; then counts what is left as dropped and resolves. Never
   * rejects. Lines logged later are still written, one write at a time.
   */
  close(timeoutMs: number): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    process.removeListener('exit', this.onExit);
    return new Promise((resolve) => {
      let finished = false;
      let timeout: NodeJS.Timeout | undefined;
      this.whenDrained(() => {
        finished = true;
        clearTimeout(timeout);
        resolve();
      });
      if (!finished) timeout = setTimeout(() => this.abandon(), Math.max(0, timeoutMs));
    });
  }

  /** Calls back once everything buffered is written (or given up on). */
  private whenDrained(callback: () => void): void {
    if (this.failed || (!this.writing && this.head >= this.lines.length)) {
      callback();
      return;
    }
    this.drainWaiters.add(callback);
    this.writeNext();
  }

  /** Starts the next write of whole lines, unless one is in progress. */
  private writeNext(): void {
    if (this.writing || this.failed || this.head >= this.lines.length) return;
    const [end, chunk] = this.nextChunk();
    this.listen();
    this.writing = true;
    this.writingChars = chunk.length;
    this.writingLines = end - this.head;
    this.consume(end);
    this.sink.out.write(chunk, this.afterWrite);
  }

  private written(error: Error | null | undefined): void {
    this.writing = false;
    this.writingChars = 0;
    this.writingLines = 0;
    if (error) {
      this.fail(error);
      return;
    }
    // The reader caught up after a stall: say once how many lines it cost.
    if (this.droppedThisStall > 0 && this.queuedChars < this.batchBytes) {
      const dropped = this.droppedThisStall;
      this.droppedThisStall = 0;
      this.onDropped?.(dropped, this.dropped);
    }
    if (this.queuedChars >= this.batchBytes || ((this.closed || this.drainWaiters.size > 0) && this.queuedChars > 0)) this.writeNext();
    else if (this.queuedChars === 0 && !this.writing) this.drained();
  }

  /** The next write, and the end (exclusive) of its lines: whole lines up to the sink's size, at least one. */
  private nextChunk(): [number, string] {
    const lines = this.lines;
    const max = this.sink.maxWriteBytes;
    let end = this.head + 1;
    let chars = lines[this.head]!.length;
    while (end < lines.length && chars + lines[end]!.length <= max) chars += lines[end++]!.length;
    let chunk = this.join(end);
    // Within the size in characters can still be past it in bytes (non-ASCII text): halve until it fits,
    // where it matters (a pipe's PIPE_BUF).
    while (max === PIPE_BUF && end - this.head > 1 && Buffer.byteLength(chunk) > max) {
      end = this.head + Math.ceil((end - this.head) / 2);
      chunk = this.join(end);
    }
    return [end, chunk];
  }

  private join(end: number): string {
    let chunk = this.lines[this.head]!;
    for (let i = this.head + 1; i < end; i++) chunk += this.lines[i];
    return chunk;
  }

  /** Takes lines[head..end) off the queue. */
  private consume(end: number): void {
    const lines = this.lines;
    for (let i = this.head; i < end; i++) {
      this.queuedChars -= lines[i]!.length;
      lines[i] = '';
    }
    this.head = end;
    if (end === lines.length) {
      lines.length = 0;
      this.head = 0;
    } else if (end >= COMPACT_AFTER_LINES && end * 2 >= lines.length) {
      lines.splice(0, end);
      this.head = 0;
    }
  }

  private listen(): void {
    if (this.listening) return;
    this.listening = true;
    this.sink.out.on('error', this.onStreamError);
  }

  /** Nothing left to write (or nothing more that will be): calls the waiters back. */
  private drained(): void {
    if (this.sink.shared && this.closed && !this.writing && !this.failed && this.listening) {
      // Closed and idle: process.stdout's errors are no longer ours (a later line listens again).
      this.listening = false;
      this.sink.out.removeListener('error', this.onStreamError);
    }
    if (this.drainWaiters.size === 0) return;
    const waiters = [...this.drainWaiters];
    this.drainWaiters.clear();
    for (const waiter of waiters) waiter();
  }

  /** `close` ran out of time: what is queued, and a write the stream still holds, count as dropped. */
  private abandon(): void {
    this.dropped += this.lines.length - this.head;
    this.consume(this.lines.length);
    // A write the stream no longer holds reached the destination; only its callback is still to come.
    if (this.writing && this.sink.out.writableLength > 0) this.dropped += this.writingLines;
    this.writingLines = 0;
    this.drained();
  }

  private fail(error: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.dropped += this.lines.length - this.head + this.writingLines;
    this.consume(this.lines.length);
    this.writingLines = 0;
    this.drained();
    this.onError?.(error);
  }
}

/** `{"level":` as pino starts every JSON line. */
const LEVEL_KEY = '{"level":';
const QUOTE = 0x22;

/**
 * Whether a pino JSON line is below `warn`, from its first field: `"level":"info"`
 * (the label, as the module writes it) or `"level":30`. Read only when the
 * buffer is nearly full. A line of another shape counts as below `warn`.
 */
function belowWarn(line: string): boolean {
  if (!line.startsWith(LEVEL_KEY)) return true;
  let at = LEVEL_KEY.length;
  if (line.charCodeAt(at) === QUOTE) {
    const first = line[at + 1];
    return first !== 'w' && first !== 'e' && first !== 'f';
  }
  let level = 0;
  for (let digit = line.charCodeAt(at) - 0x30; digit >= 0 && digit <= 9; digit = line.charCodeAt(++at) - 0x30) level = level * 10 + digit;
  return level < 40;
}
