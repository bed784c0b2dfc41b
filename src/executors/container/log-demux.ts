// The Docker API's multiplexed log stream (Tty false): frames of an 8-byte header (stream type,
// 3 zero bytes, big-endian payload size) and the payload. Stdout and stderr both go to the
// attempt's one log file, in the engine's order. `skip` drops the first bytes of output: after a
// restart the log is read again from the start and what the file already holds is not written twice.

export class LogDemuxer {
  private pending: Buffer = Buffer.alloc(0);
  /** Output bytes seen so far, skipped ones included. */
  seen = 0;

  constructor(
    private readonly write: (chunk: Buffer) => void,
    private skip = 0,
  ) {}

  push(chunk: Buffer): void {
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    while (buf.length >= 8) {
      const size = buf.readUInt32BE(4);
      if (buf.length < 8 + size) break;
      this.output(buf.subarray(8, 8 + size));
      buf = buf.subarray(8 + size);
    }
    this.pending = Buffer.from(buf);
  }

  private output(payload: Buffer): void {
    this.seen += payload.length;
    if (this.skip >= payload.length) {
      this.skip -= payload.length;
      return;
    }
    const out = this.skip > 0 ? payload.subarray(this.skip) : payload;
    this.skip = 0;
    if (out.length) this.write(out);
  }
}
