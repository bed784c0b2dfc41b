// Drives a running OpenBatch with the real AWS CLI v2 (Debian's /usr/bin/aws) and boto3 (with
// Debian's /usr/bin/python3), the way users do: `aws batch ... --endpoint-url <server>`.
//
// Both run in a clean environment: fake credentials, region us-east-1, no pager, no instance
// metadata lookups, and HOME set to a fresh temp dir so that no user config (~/.aws) leaks in;
// every AWS_* and PYTHON* variable of the test process is dropped. --endpoint-url is always
// passed explicitly: CLI v2 2.9 ignores AWS_ENDPOINT_URL.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const AWS_CLI = '/usr/bin/aws';
export const SYSTEM_PYTHON = '/usr/bin/python3';

/** Why the AWS CLI v2 suite cannot run here, or undefined when it can. */
export function awsCliSkipReason(): string | undefined {
  if (!fs.existsSync(AWS_CLI)) return `AWS CLI v2 not found at ${AWS_CLI}: apt-get install -y awscli`;
  const r = spawnSync(AWS_CLI, ['--version'], { env: cleanEnv(os.tmpdir()), encoding: 'utf8', timeout: 60_000 });
  const version = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
  if (r.status !== 0 || !/^aws-cli\/2\./.test(version)) {
    return `${AWS_CLI} is not a working AWS CLI v2 (${version || r.error?.message || `exit ${r.status}`}): apt-get install -y awscli`;
  }
  return undefined;
}

/** Why the boto3 suite cannot run here, or undefined when it can. */
export function boto3SkipReason(): string | undefined {
  if (!fs.existsSync(SYSTEM_PYTHON)) return `${SYSTEM_PYTHON} not found: apt-get install -y python3 python3-boto3`;
  const r = spawnSync(SYSTEM_PYTHON, ['-c', 'import boto3'], { env: cleanEnv(os.tmpdir()), encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) return `boto3 is not importable by ${SYSTEM_PYTHON} (${(r.stderr || r.error?.message || '').trim()}): apt-get install -y python3-boto3`;
  return undefined;
}

/** Prints a skip reason where a person running the tests will see it, and returns it. */
export function announceSkip(suite: string, reason: string | undefined): string | undefined {
  if (reason) process.stderr.write(`\n*** SKIPPING ${suite}: ${reason}\n\n`);
  return reason;
}

/** The process environment minus AWS_* and PYTHON*, plus fake credentials and HOME=home. */
export function cleanEnv(home: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.startsWith('AWS_') || k.startsWith('PYTHON')) continue;
    env[k] = v;
  }
  return {
    ...env,
    HOME: home,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_PAGER: '',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command with exactly `env`, in `cwd`. */
export function runIn(cmd: string, args: string[], env: Record<string, string>, cwd: string, timeoutMs = 60_000): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : -1), stdout, stderr });
    });
  });
}

/** `aws batch ...` against one endpoint, with its own HOME and working directory. */
export class AwsCli {
  readonly home: string;
  /** Where the CLI runs, so that `file://name.json` arguments resolve here. */
  readonly cwd: string;

  constructor(readonly endpoint: string) {
    this.home = fs.mkdtempSync(path.join(os.tmpdir(), 'openbatch-aws-home-'));
    this.cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'openbatch-aws-cwd-'));
  }

  env(): Record<string, string> {
    return cleanEnv(this.home);
  }

  /** `aws batch <args> --endpoint-url <endpoint>`; never throws on a non-zero exit. */
  batch(...args: string[]): Promise<Result> {
    return runIn(AWS_CLI, ['batch', ...args, '--endpoint-url', this.endpoint], this.env(), this.cwd);
  }

  /** Like batch(), but the command must exit 0; returns its stdout parsed as JSON ({} if empty). */
  async ok<T = any>(...args: string[]): Promise<T> {
    const r = await this.batch(...args);
    if (r.code !== 0) throw new Error(`aws batch ${args.join(' ')} exited ${r.code}:\n${r.stderr}${r.stdout}`);
    return (r.stdout.trim() === '' ? {} : JSON.parse(r.stdout)) as T;
  }

  /** Writes a file into the CLI's working directory (for file://<name>). */
  writeFile(name: string, text: string): string {
    const p = path.join(this.cwd, name);
    fs.writeFileSync(p, text);
    return p;
  }

  async describeJob(jobId: string): Promise<any> {
    const out = await this.ok<{ jobs: any[] }>('describe-jobs', '--jobs', jobId);
    return out.jobs[0];
  }

  /**
   * Polls describe-jobs until the job is in `status` (no fixed sleeps; a deadline). Fails at once
   * if the job ends in the other terminal status.
   */
  async waitForStatus(jobId: string, status: string, timeoutMs = 30_000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const job = await this.describeJob(jobId);
      if (job?.status === status) return job;
      if (job && (job.status === 'SUCCEEDED' || job.status === 'FAILED')) {
        throw new Error(`job ${jobId} ended ${job.status} (${job.statusReason}), not ${status}: ${JSON.stringify(job.attempts)}`);
      }
      if (Date.now() > deadline) {
        throw new Error(`timed out after ${timeoutMs} ms waiting for job ${jobId} to reach ${status} (last seen: ${job?.status} ${job?.statusReason ?? ''})`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  cleanup(): void {
    fs.rmSync(this.home, { recursive: true, force: true });
    fs.rmSync(this.cwd, { recursive: true, force: true });
  }
}

/** The line the CLI prints on a 400 from the service. */
export function clientExceptionLine(operation: string): RegExp {
  return new RegExp(`^An error occurred \\(ClientException\\) when calling the ${operation} operation: (.+)$`, 'm');
}
