/**
 * The bench's progress line: rewritten in place on a terminal; elsewhere (CI logs) a line per
 * phase and at most one update every few seconds, so a log stays readable.
 */
export class Progress {
  private readonly tty: boolean;
  private readonly started = Date.now();
  private prefix = '';
  private lastPrinted = 0;
  private shown = '';

  constructor(private readonly out: NodeJS.WriteStream = process.stdout) {
    this.tty = out.isTTY === true;
  }

  /** Starts a new phase, e.g. "[2/6 Tasker PGMQ EventDrivenOnly] latency". */
  phase(prefix: string): void {
    this.prefix = prefix;
    this.lastPrinted = 0;
    this.update('');
  }

  update(detail: string): void {
    const line = `${this.clock()} ${this.prefix}${detail ? `: ${detail}` : ''}`;
    if (this.tty) {
      const width = this.out.columns ?? 120;
      this.out.write(
        `\r${line.slice(0, width - 1).padEnd(Math.min(width - 1, this.shown.length))}`,
      );
      this.shown = line;
      return;
    }
    if (detail !== '' && Date.now() - this.lastPrinted < 5000) return;
    this.lastPrinted = Date.now();
    this.out.write(`${line}\n`);
  }

  /** A line that stays (a result, a warning). */
  log(line: string): void {
    if (this.tty && this.shown) this.out.write(`\r${' '.repeat(this.shown.length)}\r`);
    this.shown = '';
    this.out.write(`${line}\n`);
  }

  private clock(): string {
    const s = Math.floor((Date.now() - this.started) / 1000);
    return `[${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}]`;
  }
}
