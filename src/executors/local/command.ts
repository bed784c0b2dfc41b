// What the local executor checks and prepares about an attempt's command before anything is
// written: its environment, NUL bytes (exec cannot take them, nor can the launcher's framing) and
// command[0] resolved as execvp (and Docker) would. A problem here is the job's own fault: the
// attempt ends with `CannotStartContainerError` and is never dispatched. On the hot path of every
// start, so no exceptions on the way.

import fs from 'node:fs';
import path from 'node:path';
import type { AttemptSpec } from '../executor.js';
import { ATTEMPT_KEY_VAR } from './supervisor.js';

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The command's environment: exactly the spec's, plus PATH and HOME from the server when it sets none, plus the attempt key. */
export function attemptEnvironment(spec: AttemptSpec): Record<string, string> {
  const env: Record<string, string> = { ...spec.environment };
  if (env.PATH === undefined) env.PATH = process.env.PATH ?? DEFAULT_PATH;
  if (env.HOME === undefined && process.env.HOME !== undefined) env.HOME = process.env.HOME;
  env[ATTEMPT_KEY_VAR] = spec.key;
  return env;
}

/** A NUL byte cannot be passed to exec (and would break the launcher's framing). */
export function nulProblem(command: readonly string[], env: Readonly<Record<string, string>>): string | undefined {
  for (const arg of command) if (arg.includes('\0')) return 'the command contains a NUL byte';
  for (const name in env) if (name.includes('\0') || env[name].includes('\0')) return `the environment variable ${JSON.stringify(name.replace(/\0/g, '\\0'))} contains a NUL byte`;
  return undefined;
}

/**
 * Why command[0] cannot be executed with this PATH (Docker's wording), or undefined if it can.
 * A name with a slash is resolved against the work dir; a bare name is searched in PATH.
 */
export function checkExecutable(cmd: string, searchPath: string, workDir: string): string | undefined {
  const r = resolveExecutable(cmd, searchPath, workDir);
  return 'problem' in r ? r.problem : undefined;
}

/**
 * The file command[0] names (as execvp would find it, and as Docker resolves it before it starts
 * a container), or why it cannot be executed (Docker's wording). A name with a slash is resolved
 * against the work dir; a bare name is searched in PATH. No exceptions on the way: a failed stat
 * per PATH entry is the common case, and a thrown error costs more than the system call.
 */
export function resolveExecutable(cmd: string, searchPath: string, workDir: string): { file: string } | { problem: string } {
  if (cmd.includes('/')) {
    const file = path.resolve(workDir, cmd);
    const st = statOrUndefined(file);
    if (!st) return { problem: `exec: "${cmd}": stat ${cmd}: no such file or directory` };
    if (st.isDirectory()) return { problem: `exec: "${cmd}": is a directory` };
    if (!isExecutable(file)) return { problem: `exec: "${cmd}": permission denied` };
    return { file };
  }
  if (cmd !== '') {
    for (const dir of searchPath.split(':')) {
      const file = path.resolve(workDir, dir, cmd); // an empty PATH entry means the cwd
      const st = statOrUndefined(file);
      if (!st || st.isDirectory()) continue;
      if (isExecutable(file)) return { file };
      // not executable: keep looking, as execvp does
    }
  }
  return { problem: `exec: "${cmd}": executable file not found in $PATH` };
}

function statOrUndefined(file: string): fs.Stats | undefined {
  try {
    return fs.statSync(file, { throwIfNoEntry: false }); // ENOENT, ENOTDIR: undefined
  } catch {
    return undefined; // EACCES on a parent, ...
  }
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
