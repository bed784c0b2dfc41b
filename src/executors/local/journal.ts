// The perl launchers' journals (launcher-script.ts): <dataDir>/journals/journal.<pid>.<start>.<seq>,
// one line per record, appended with one write each. This is where an attempt started through a
// launcher leaves its trace: S (started: the command's pid and start time), X (its exit status),
// F (it could not start), and, written by the server, R (its exit is recorded durably: the records
// are no longer needed). E and Q mark a launcher that reads no more requests and one that exited.
//
// `Journals` reads them (after a restart, after a launcher crash, for adopted attempts: never on
// the hot path of a live launcher, whose reports come through its stdout) and decides when a file
// can go: once nothing will be appended to it any more (`closed`) and every attempt whose records
// it holds is released (`keys` is empty). Design: src/executors/README.md ("The journal").

import fs from 'node:fs';
import path from 'node:path';
import type { AttemptUsage } from '../executor.js';
import { parseExitTokens } from './launcher.js';
import { processStartTime } from './proc.js';

export const JOURNAL_DIR = 'journals';
const NAME = /^journal\.(\d+)\.(\d+)\.(\d+)$/;

/** <dataDir>/journals */
export function journalDir(dataDir: string): string {
  return path.join(path.resolve(dataDir), JOURNAL_DIR);
}

export function journalName(pid: number, start: number, seq: number): string {
  return `journal.${pid}.${start}.${seq}`;
}

/** A launcher, named by its pid and start time (which name a process for good). */
export interface LauncherInfo {
  readonly id: string;
  readonly pid: number;
  readonly start: number;
  /** Ours and alive: its files are accounted from its reports, not read. */
  own: boolean;
  /** Known to be gone (it never comes back). */
  dead: boolean;
  /** E: it read its stdin to the end, so it forks nothing more. */
  done: boolean;
  /** Q: it exited on its own after reaping and journaling every child. */
  quit: boolean;
  /** Its newest journal. */
  current: number;
}

/**
 * A process recorded in a journal: its pid, and bounds of its start time (/proc/<pid>/stat field
 * 22, clock ticks since boot): with the pid, they name it for good (a reused pid started later).
 */
export interface RecordedProcess {
  pid: number;
  startLo: number;
  startHi: number;
}

/** What the journals say about one attempt. */
export interface KeyRecord {
  file: JournalFile;
  /** S: the command's process (its pid is the command's, exec keeps it) and when it started (epoch ms). */
  start?: RecordedProcess & { at: number };
  /** X: `oom` when the command failed after an OOM kill in its cgroup; `usage` where the launcher measured it. */
  exit?: { status: number; at: number; oom?: boolean; usage?: AttemptUsage };
  failed?: { message: string; at: number };
}

export class JournalFile {
  /** Bytes read so far (complete lines only). */
  offset = 0;
  deleted = false;
  watcher: fs.FSWatcher | undefined;
  /** Attempts whose records are (or will be) here and that are not released yet. */
  readonly keys = new Set<string>();

  constructor(
    readonly name: string,
    readonly path: string,
    readonly launcher: LauncherInfo,
    readonly seq: number,
  ) {}

  /**
   * Nothing but records of its `keys` can be appended any more: its launcher is gone, or it is one
   * of ours and has moved on to a newer journal (the records of attempts acknowledged into this
   * one still come here, and those attempts are in `keys` from their acknowledgement on).
   */
  get closed(): boolean {
    const l = this.launcher;
    return l.dead || l.quit || (l.own && this.seq < l.current);
  }
}

/** Appends (one write) to a file that exists: no O_CREAT, so a file deleted meanwhile stays deleted. */
function appendExisting(file: string, text: string): void {
  fs.open(file, fs.constants.O_WRONLY | fs.constants.O_APPEND, (err, fd) => {
    if (err) return;
    fs.write(fd, text, () => fs.close(fd, () => {}));
  });
}

export class Journals {
  readonly dir: string;
  /** Records of attempts read from journals, until they are released. */
  readonly records = new Map<string, KeyRecord>();
  private readonly files = new Map<string, JournalFile>();
  private readonly launchers = new Map<string, LauncherInfo>();
  private releases = new Map<JournalFile, string>();
  private releaseScheduled = false;

  constructor(dataDir: string) {
    this.dir = journalDir(dataDir);
  }

  /** One of our launchers said `ready`. */
  ownLauncher(pid: number, start: number): LauncherInfo {
    const l = this.launcher(pid, start);
    l.own = true;
    return l;
  }

  /** One of our launchers journals to `seq` now: its earlier files may be deletable. */
  ownJournal(l: LauncherInfo, seq: number): JournalFile {
    if (seq > l.current) l.current = seq;
    const file = this.file(l, seq);
    for (const f of this.filesOf(l)) if (f !== file) this.maybeDelete(f);
    return file;
  }

  /** One of our launchers died: from now on its files are read like any other's, and closed. */
  launcherDied(l: LauncherInfo): void {
    l.dead = true;
    l.own = false;
    for (const f of this.filesOf(l)) this.read(f);
    for (const f of this.filesOf(l)) this.maybeDelete(f);
  }

  /** The attempt's records will be in `file` (one of our launchers acknowledged its request). */
  attribute(key: string, file: JournalFile): void {
    file.keys.add(key);
  }

  /** The attempt went elsewhere (its request is sent to another launcher): not this file's any more. */
  unattribute(key: string, file: JournalFile): void {
    if (file.keys.delete(key)) this.maybeDelete(file);
  }

  /** The journal holding the attempt's records, as far as read. */
  fileOf(key: string): JournalFile | undefined {
    return this.records.get(key)?.file;
  }

  /**
   * The server recorded the attempt's exit durably: its records are not needed any more. An R
   * record says so to whoever reads the file after a restart; the file goes once all its
   * attempts are released and nothing more can be appended to it.
   */
  release(key: string, file = this.fileOf(key)): void {
    const rec = this.records.get(key);
    if (rec && rec.file === file) this.records.delete(key);
    if (!file || file.deleted) return;
    file.keys.delete(key);
    if (this.maybeDelete(file)) return;
    this.releases.set(file, (this.releases.get(file) ?? '') + `R ${key}\n`);
    if (this.releaseScheduled) return;
    this.releaseScheduled = true;
    setImmediate(() => {
      this.releaseScheduled = false;
      const batch = this.releases;
      this.releases = new Map();
      for (const [f, text] of batch) {
        if (f.deleted) continue;
        appendExisting(f.path, text);
      }
    });
  }

  /**
   * Lists the directory and reads what is new in every journal not written by a live launcher of
   * ours. Whether their launchers live is checked first: a launcher found dead wrote everything it
   * ever will before this read. Closed files whose attempts are all released are deleted.
   */
  refresh(): void {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch {
      names = [];
    }
    for (const name of names) {
      const m = NAME.exec(name);
      if (m) this.file(this.launcher(Number(m[1]), Number(m[2])), Number(m[3]));
    }
    for (const l of this.launchers.values()) this.checkAlive(l);
    for (const f of [...this.files.values()]) {
      if (f.launcher.own) continue;
      this.read(f);
      this.maybeDelete(f);
    }
  }

  /** Is this launcher (not ours) alive? Marks it dead for good when it is not. */
  checkAlive(l: LauncherInfo): boolean {
    if (l.dead) return false;
    if (l.own) return true;
    if (processStartTime(l.pid) === l.start) return true;
    l.dead = true;
    return false;
  }

  /** Pids of launchers that read no more requests (E) and still live: they start nothing any more. */
  doneLaunchers(): Set<number> {
    const done = new Set<number>();
    for (const l of this.launchers.values()) if (!l.dead && (l.done || l.quit)) done.add(l.pid);
    return done;
  }

  /** Reads what was appended to the file since the last read (complete lines only). */
  read(f: JournalFile): void {
    if (f.deleted) return;
    let fd: number;
    try {
      fd = fs.openSync(f.path, 'r');
    } catch {
      return;
    }
    try {
      const size = fs.fstatSync(fd).size;
      if (size <= f.offset) return;
      const buf = Buffer.allocUnsafe(size - f.offset);
      let got = 0;
      while (got < buf.length) {
        const n = fs.readSync(fd, buf, got, buf.length - got, f.offset + got);
        if (n === 0) break;
        got += n;
      }
      if (got === 0) return;
      const end = buf.lastIndexOf(10, got - 1);
      if (end < 0) return;
      f.offset += end + 1;
      this.parse(f, buf.toString('utf8', 0, end));
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Deletes the file if it is closed and all its attempts are released; true if it is gone. */
  maybeDelete(f: JournalFile): boolean {
    if (f.deleted) return true;
    if (f.keys.size > 0) return false;
    if (!f.closed) {
      // A launcher not ours may have exited meanwhile: then read what it wrote last.
      if (f.launcher.own || this.checkAlive(f.launcher)) return false;
      this.read(f);
      if (f.keys.size > 0) return false;
    }
    f.deleted = true;
    this.files.delete(f.name);
    this.releases.delete(f);
    f.watcher?.close();
    f.watcher = undefined;
    fs.unlink(f.path, () => {});
    return true;
  }

  private parse(f: JournalFile, text: string): void {
    let start = 0;
    while (start <= text.length) {
      let nl = text.indexOf('\n', start);
      if (nl < 0) nl = text.length;
      const line = text.slice(start, nl);
      start = nl + 1;
      const type = line.charCodeAt(0);
      if (line.length === 1) {
        if (type === 69) f.launcher.done = true; // E
        else if (type === 81) f.launcher.quit = true; // Q
        continue;
      }
      if (line.charCodeAt(1) !== 32) continue;
      const sp = line.indexOf(' ', 2);
      const key = sp < 0 ? line.slice(2) : line.slice(2, sp);
      if (key === '') continue;
      if (type === 82) {
        // R: released
        if (this.records.get(key)?.file === f) this.records.delete(key);
        f.keys.delete(key);
        continue;
      }
      const fields = sp < 0 ? [] : line.slice(sp + 1).split(' ');
      let rec = this.records.get(key);
      if (!rec || rec.file !== f) {
        rec = { file: f };
        this.records.set(key, rec);
      }
      f.keys.add(key);
      if (type === 83 && fields.length >= 4) {
        // S KEY PID LO HI MS
        rec.start = { pid: Number(fields[0]), startLo: Number(fields[1]), startHi: Number(fields[2]), at: Number(fields[3]) };
      } else if (type === 88 && fields.length >= 2) {
        // X KEY STATUS MS[ oom][ mem=KIB][ cpu=MS]
        rec.exit = { status: Number(fields[0]), at: Number(fields[1]) };
        if (fields.length > 2) {
          const { oom, usage } = parseExitTokens(fields.slice(2));
          if (oom) rec.exit.oom = true;
          if (usage) rec.exit.usage = usage;
        }
      } else if (type === 70 && fields.length >= 1) {
        // F KEY MS MESSAGE
        const msp = line.indexOf(' ', sp + 1);
        rec.failed = { at: Number(fields[0]), message: msp < 0 ? '' : line.slice(msp + 1) };
      }
    }
  }

  private launcher(pid: number, start: number): LauncherInfo {
    const id = `${pid}.${start}`;
    let l = this.launchers.get(id);
    if (!l) {
      l = { id, pid, start, own: false, dead: false, done: false, quit: false, current: 0 };
      this.launchers.set(id, l);
    }
    return l;
  }

  private file(l: LauncherInfo, seq: number): JournalFile {
    const name = journalName(l.pid, l.start, seq);
    let f = this.files.get(name);
    if (!f) {
      f = new JournalFile(name, path.join(this.dir, name), l, seq);
      this.files.set(name, f);
      if (seq > l.current) l.current = seq;
    }
    return f;
  }

  private filesOf(l: LauncherInfo): JournalFile[] {
    return [...this.files.values()].filter((f) => f.launcher === l);
  }
}
