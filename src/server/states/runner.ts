// Runs Step Functions executions. The interpreter is replayed, event-sourced code: each state
// entry, exit and task event is appended to the execution's history under a deterministic key
// (state path, visit number, attempt), and each Task attempt's outcome and each Wait's deadline
// is kept as a step record. After a restart an execution runs again from its start: events that
// exist are not written twice, finished task attempts return their recorded result, a `.sync`
// task whose job is running re-attaches to it, and a submit interrupted before its record is
// found again by its job's tag. So a Batch job is submitted once per (execution, state, attempt).
//
// The semantics of the language (paths, templates, intrinsics, Choice, Retry/Catch matching)
// are the pure functions of src/core/asl; this module adds time, the store and the services.

import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { evaluateRule } from '../../core/asl/choice.js';
import type { Branch, Definition, StateDef } from '../../core/asl/definition.js';
import { RESOURCES, type SupportedResource } from '../../core/asl/definition.js';
import { isStatesError, runtimeError, StatesError } from '../../core/asl/errors.js';
import type { IntrinsicEnv } from '../../core/asl/intrinsics.js';
import { isIntrinsic, evaluateIntrinsic } from '../../core/asl/intrinsics.js';
import { evaluatePath, preview } from '../../core/asl/json-path.js';
import { applyInputPath, applyOutputPath, applyResultPath, applyTemplate } from '../../core/asl/payload.js';
import type { ExecutionRecord, HistoryEvent, StepRecord } from '../../core/asl/records.js';
import { findCatcher, findRetrier, retryDelayMs } from '../../core/asl/retry.js';
import type { StatesStore } from '../../store/states-store.js';
import { coalescingDescribe, stepToken, toBatchInput, toPascal, type BatchGateway, type NotificationPublisher } from './integrations.js';

/** Tag on every Batch job a workflow submits: finds the job again after a crash. */
export const STEP_TOKEN_TAG = 'openbatch:stepFunctionsToken';

export interface RunnerDeps {
  store: StatesStore;
  batch: BatchGateway;
  publisher: NotificationPublisher;
  now: () => number;
  log: Logger;
  region: string;
  /** How often a `.sync` task looks at its job (ms). */
  pollMs?: number;
  /** History events an execution may have (default 25,000, Step Functions' quota). */
  maxHistoryEvents?: number;
}

type AbortReason = 'shutdown' | 'stop' | 'branch' | 'timeout';

class Aborted extends Error {
  constructor(readonly reason: AbortReason) {
    super(`aborted (${reason})`);
  }
}

interface Scope {
  signal: AbortSignal;
  /** Key prefix of the branch (`` for the top level, `Map.0/3/` inside iteration 3, ...). */
  prefix: string;
  /** Map iteration context ($$.Map.Item). */
  item?: { Index: number; Value: unknown };
}

interface Outcome {
  output: unknown;
  next?: string;
}

export class ExecutionRunner {
  private readonly running = new Map<string, { controller: AbortController; done: Promise<void> }>();
  private closed = false;
  /** Shared by every execution: the `.sync` polls of one moment are one DescribeJobs. */
  private readonly describe: (jobId: string) => Promise<Record<string, unknown> | undefined>;

  constructor(private readonly deps: RunnerDeps) {
    this.describe = coalescingDescribe(deps.batch);
  }

  /** Starts (or, after a restart, resumes) running an execution in the background. */
  start(exec: ExecutionRecord): void {
    if (this.closed || this.running.has(exec.executionArn)) return;
    const controller = new AbortController();
    const run = new Run(this.deps, exec, controller.signal, this.describe);
    // main() records every outcome itself; what escapes it (the store failing) is logged, and the
    // execution stays RUNNING in the store, to be resumed at the next start.
    const done = run
      .main()
      .catch((e) => this.deps.log.error({ err: e, executionArn: exec.executionArn }, 'execution runner stopped on an error'))
      .finally(() => this.running.delete(exec.executionArn));
    this.running.set(exec.executionArn, { controller, done });
  }

  /** Resumes every execution that was RUNNING when the server stopped. */
  async resumeAll(): Promise<number> {
    const list = await this.deps.store.executionsWithStatus('RUNNING');
    for (const e of list) this.start(e);
    return list.length;
  }

  /** StopExecution: the execution ends ABORTED and the Batch jobs it is running are terminated. */
  async stop(exec: ExecutionRecord, error?: string, cause?: string): Promise<number> {
    // The run stops first (terminating the job it waits on), so no event follows ExecutionAborted.
    const r = this.running.get(exec.executionArn);
    if (r) {
      r.controller.abort('stop');
      await r.done;
    }
    const stopDate = this.deps.now();
    const details: Record<string, unknown> = {};
    if (error !== undefined) details.error = error;
    if (cause !== undefined) details.cause = cause;
    const stopped = await this.deps.store.finishExecution(
      exec.executionArn,
      { status: 'ABORTED', stopDate, ...(error !== undefined ? { error } : {}), ...(cause !== undefined ? { cause } : {}) },
      { key: 'execution:aborted', timestamp: stopDate, type: 'ExecutionAborted', details: { executionAbortedEventDetails: details } },
    );
    if (!stopped) return (await this.deps.store.getExecution(exec.executionArn))?.stopDate ?? stopDate; // it ended meanwhile
    // Jobs submitted but not finished, including any whose task was between submit and wait.
    for (const { step } of await this.deps.store.steps(exec.executionArn)) {
      if (step.status === 'SUBMITTED' && step.jobId) {
        await this.deps.batch.terminate(step.jobId, 'Execution stopped').catch(() => undefined);
      }
    }
    return stopDate;
  }

  /** Stops running executions without changing them (they resume at the next start). */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.running.values()];
    for (const r of all) r.controller.abort('shutdown');
    await Promise.allSettled(all.map((r) => r.done));
  }
}

/** setTimeout holds at most 2^31-1 ms (24.8 days); longer Waits re-arm until their time. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Calls `fn` after `ms`, however long; returns a function that cancels it. */
export function after(ms: number, fn: () => void): () => void {
  let t: NodeJS.Timeout;
  const until = Date.now() + ms;
  const arm = () => {
    const left = until - Date.now();
    t = setTimeout(left > MAX_TIMER_MS ? arm : fn, Math.min(Math.max(0, left), MAX_TIMER_MS));
  };
  arm();
  return () => clearTimeout(t);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Aborted(signal.reason as AbortReason));
    const cancel = after(ms, () => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
    const onAbort = () => {
      cancel();
      reject(new Aborted(signal.reason as AbortReason));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function checkAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new Aborted(signal.reason as AbortReason);
}

/** A child signal that aborts with its parent, or on its own (a failed sibling branch). */
function childController(parent: AbortSignal): AbortController {
  const c = new AbortController();
  if (parent.aborted) c.abort(parent.reason);
  else parent.addEventListener('abort', () => c.abort(parent.reason), { once: true });
  return c;
}

const json = (v: unknown) => JSON.stringify(v ?? null);
const MAX_PAYLOAD = 256 * 1024;
const MAX_HISTORY_EVENTS = 25_000;

class Run {
  private readonly arn: string;
  private readonly context: Record<string, any>;
  /** Aborts with the runner's signal (stop, shutdown) or on the execution's TimeoutSeconds. */
  private readonly controller: AbortController;
  private readonly signal: AbortSignal;

  constructor(
    private readonly deps: RunnerDeps,
    private readonly exec: ExecutionRecord,
    outer: AbortSignal,
    private readonly describeJob: (jobId: string) => Promise<Record<string, unknown> | undefined>,
  ) {
    this.controller = childController(outer);
    this.signal = this.controller.signal;
    this.arn = exec.executionArn;
    this.context = {
      Execution: { Id: exec.executionArn, Input: JSON.parse(exec.input), Name: exec.name, StartTime: new Date(exec.startDate).toISOString(), RoleArn: '' },
      StateMachine: { Id: exec.stateMachineArn, Name: exec.stateMachineName },
    };
  }

  async main(): Promise<void> {
    const { store, now, log } = this.deps;
    const def = JSON.parse(this.exec.definition) as Definition;
    // The execution's time limit counts from its start, across restarts.
    const cancelTimer =
      def.TimeoutSeconds !== undefined ? after(Math.max(0, this.exec.startDate + def.TimeoutSeconds * 1000 - now()), () => this.controller.abort('timeout')) : undefined;
    try {
      const output = await this.runBranch(def, JSON.parse(this.exec.input), { signal: this.signal, prefix: '' });
      checkAborted(this.signal);
      const t = now();
      await store.finishExecution(
        this.arn,
        { status: 'SUCCEEDED', stopDate: t, output: json(output) },
        { key: 'execution:succeeded', timestamp: t, type: 'ExecutionSucceeded', details: { executionSucceededEventDetails: { output: json(output), outputDetails: { truncated: false } } } },
      );
    } catch (e) {
      if (this.signal.reason === 'timeout') {
        const t = now();
        const cause = `The execution timed out after ${def.TimeoutSeconds} seconds`;
        await store
          .finishExecution(
            this.arn,
            { status: 'TIMED_OUT', stopDate: t, error: 'States.Timeout', cause },
            { key: 'execution:timed-out', timestamp: t, type: 'ExecutionTimedOut', details: { executionTimedOutEventDetails: { error: 'States.Timeout', cause } } },
          )
          .catch((x) => log.error({ err: x, executionArn: this.arn }, 'could not record the end of an execution'));
        return;
      }
      if (e instanceof Aborted || this.signal.aborted) return; // stopped, or the server is closing
      const err = isStatesError(e) ? e : runtimeError(`Internal error: ${(e as Error).message}`);
      if (!isStatesError(e)) log.error({ err: e, executionArn: this.arn }, 'execution failed on an internal error');
      const t = now();
      await store
        .finishExecution(
          this.arn,
          { status: 'FAILED', stopDate: t, error: err.error, cause: err.cause },
          { key: 'execution:failed', timestamp: t, type: 'ExecutionFailed', details: { executionFailedEventDetails: { error: err.error, cause: err.cause } } },
        )
        .catch((x) => log.error({ err: x, executionArn: this.arn }, 'could not record the end of an execution'));
    } finally {
      cancelTimer?.();
    }
  }

  private async event(key: string, type: string, details: Record<string, unknown>): Promise<HistoryEvent> {
    checkAborted(this.signal);
    const e = await this.deps.store.appendEvent(this.arn, { key, timestamp: this.deps.now(), type, details });
    // Step Functions' quota, which also ends a workflow that loops forever without waiting.
    const max = this.deps.maxHistoryEvents ?? MAX_HISTORY_EVENTS;
    if (e.id > max) throw new StatesError('States.Runtime', `The execution history reached its limit of ${max} events`);
    return e;
  }

  private env(input: unknown, context: unknown): IntrinsicEnv {
    return { input, context, random: Math.random, uuid: randomUUID };
  }

  private stateContext(name: string, entered: number, scope: Scope, retryCount = 0): Record<string, unknown> {
    return {
      ...this.context,
      State: { Name: name, EnteredTime: new Date(entered).toISOString(), RetryCount: retryCount },
      ...(scope.item ? { Map: { Item: scope.item } } : {}),
    };
  }

  /** Runs the states of a branch from StartAt to an end; returns the branch's output. */
  async runBranch(branch: Branch, input: unknown, scope: Scope): Promise<unknown> {
    const visits = new Map<string, number>();
    let name = branch.StartAt;
    for (;;) {
      checkAborted(scope.signal);
      const visit = (visits.get(name) ?? 0) + 1;
      visits.set(name, visit);
      const state = branch.States[name];
      const out = await this.runState(name, state, input, `${scope.prefix}${name}#${visit}`, scope);
      if (out.next === undefined) return out.output;
      name = out.next;
      input = out.output;
    }
  }

  private async runState(name: string, s: StateDef, input: unknown, key: string, scope: Scope): Promise<Outcome> {
    const entered = await this.event(`${key}:entered`, `${s.Type}StateEntered`, {
      stateEnteredEventDetails: { name, input: json(input), inputDetails: { truncated: false } },
    });
    const ctx = this.stateContext(name, entered.timestamp, scope);
    const out = await this.execute(name, s, input, key, scope, ctx);
    // Step Functions' payload quota: what a state passes on is at most 256 KiB.
    const size = Buffer.byteLength(json(out.output));
    if (size > MAX_PAYLOAD) throw new StatesError('States.DataLimitExceeded', `The state/task '${name}' returned a result of ${size} bytes, over the maximum of ${MAX_PAYLOAD} bytes`);
    if (s.Type !== 'Fail') {
      await this.event(`${key}:exited`, `${s.Type}StateExited`, {
        stateExitedEventDetails: { name, output: json(out.output), outputDetails: { truncated: false } },
      });
    }
    return out;
  }

  private async execute(name: string, s: StateDef, input: unknown, key: string, scope: Scope, ctx: Record<string, unknown>): Promise<Outcome> {
    const next = s.End ? undefined : s.Next;
    switch (s.Type) {
      case 'Pass': {
        const effective = applyInputPath(s.InputPath, input, ctx);
        const result = s.Result !== undefined ? s.Result : s.Parameters !== undefined ? applyTemplate(s.Parameters, this.env(effective, ctx)) : effective;
        return { output: applyOutputPath(s.OutputPath, applyResultPath(s.ResultPath, input, result), ctx), next };
      }
      case 'Succeed':
        return { output: applyOutputPath(s.OutputPath, applyInputPath(s.InputPath, input, ctx), ctx) };
      case 'Fail': {
        const pick = (literal: string | undefined, path: string | undefined) => {
          if (path === undefined) return literal;
          const v = isIntrinsic(path) ? evaluateIntrinsic(path, this.env(input, ctx)) : evaluatePath(path, input, ctx);
          if (typeof v !== 'string') throw runtimeError(`${name}: the value of ${path} must be a string, got ${preview(v)}`);
          return v;
        };
        throw new StatesError(pick(s.Error, s.ErrorPath) ?? 'States.Failed', pick(s.Cause, s.CausePath) ?? '');
      }
      case 'Choice': {
        const effective = applyInputPath(s.InputPath, input, ctx);
        const rule = (s.Choices ?? []).find((r) => evaluateRule(r, effective, ctx));
        const target = rule?.Next ?? s.Default;
        if (target === undefined) throw new StatesError('States.NoChoiceMatched', `No Choice rule matched and no Default in state '${name}'`);
        return { output: applyOutputPath(s.OutputPath, effective, ctx), next: target };
      }
      case 'Wait': {
        const effective = applyInputPath(s.InputPath, input, ctx);
        await this.wait(`${key}:wait`, () => this.waitUntil(name, s, effective, ctx), scope.signal);
        return { output: applyOutputPath(s.OutputPath, effective, ctx), next };
      }
      case 'Task':
      case 'Parallel':
      case 'Map':
        return this.withRetry(name, s, input, key, scope, ctx);
    }
    throw runtimeError(`Unsupported state type ${String((s as StateDef).Type)}`);
  }

  private waitUntil(name: string, s: StateDef, input: unknown, ctx: unknown): number {
    const now = this.deps.now();
    if (s.Seconds !== undefined) return now + s.Seconds * 1000;
    if (s.Timestamp !== undefined) return Date.parse(s.Timestamp);
    if (s.SecondsPath !== undefined) {
      const v = evaluatePath(s.SecondsPath, input, ctx);
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw runtimeError(`${name}: SecondsPath ${s.SecondsPath} must select a non-negative integer, got ${preview(v)}`);
      return now + v * 1000;
    }
    const v = evaluatePath(s.TimestampPath!, input, ctx);
    if (typeof v !== 'string' || Number.isNaN(Date.parse(v))) throw runtimeError(`${name}: TimestampPath ${s.TimestampPath} must select an ISO-8601 timestamp, got ${preview(v)}`);
    return Date.parse(v);
  }

  /** Waits until a deadline that is computed once and recorded, so a replay waits only what is left. */
  private async wait(stepKey: string, deadline: () => number, signal: AbortSignal): Promise<void> {
    const { store, now } = this.deps;
    let step = await store.getStep(this.arn, stepKey);
    if (!step) {
      step = { status: 'WAITING', until: deadline() };
      checkAborted(signal);
      await store.putStep(this.arn, stepKey, step);
    }
    const left = (step.until ?? 0) - now();
    if (left > 0) await sleep(left, signal);
  }

  /** Task, Parallel and Map: input processing, the work, Retry, Catch, output processing. */
  private async withRetry(name: string, s: StateDef, input: unknown, key: string, scope: Scope, ctx: Record<string, unknown>): Promise<Outcome> {
    const next = s.End ? undefined : s.Next;
    const counts = new Map<number, number>();
    for (let attempt = 0; ; attempt++) {
      const attemptKey = `${key}.${attempt}`;
      const actx = { ...ctx, State: { ...(ctx.State as object), RetryCount: attempt } };
      try {
        const effective = applyInputPath(s.InputPath, input, actx);
        let result: unknown;
        if (s.Type === 'Map') result = await this.map(name, s, effective, attemptKey, scope, actx);
        else {
          const params = s.Parameters !== undefined ? applyTemplate(s.Parameters, this.env(effective, actx)) : effective;
          result = s.Type === 'Task' ? await this.task(s, params, attemptKey, scope) : await this.parallel(s, params, attemptKey, scope);
        }
        if (s.ResultSelector !== undefined) result = applyTemplate(s.ResultSelector, this.env(result, actx));
        return { output: applyOutputPath(s.OutputPath, applyResultPath(s.ResultPath, input, result), actx), next };
      } catch (e) {
        if (e instanceof Aborted) throw e;
        checkAborted(scope.signal);
        const err = isStatesError(e) ? e : runtimeError((e as Error).message);
        const retrier = findRetrier(s.Retry, err.error);
        if (retrier) {
          const done = counts.get(retrier.index) ?? 0;
          const delay = retryDelayMs(retrier.retrier, done, Math.random);
          if (delay !== undefined) {
            counts.set(retrier.index, done + 1);
            await this.wait(`${attemptKey}:retry`, () => this.deps.now() + delay, scope.signal);
            continue;
          }
        }
        const catcher = findCatcher(s.Catch, err.error);
        if (!catcher) throw err;
        const output = applyResultPath(catcher.ResultPath === undefined ? '$' : catcher.ResultPath, input, { Error: err.error, Cause: err.cause });
        return { output, next: catcher.Next };
      }
    }
  }

  // ----- Task: the integrations

  private async task(s: StateDef, params: unknown, stepKey: string, scope: Scope): Promise<unknown> {
    const resource = s.Resource as SupportedResource;
    const spec = RESOURCES[resource];
    const { store } = this.deps;
    const short = resource.replace('arn:aws:states:::', '').split(':').slice(1).join(':'); // submitJob.sync:2, publish
    const eventBase = { resourceType: spec.service, resource: short };
    let step = await store.getStep(this.arn, stepKey);
    if (step?.status === 'SUCCEEDED') return step.result;
    if (step?.status === 'FAILED') throw new StatesError(step.error ?? 'States.TaskFailed', step.cause ?? '');
    if (!step) {
      await this.event(`${stepKey}:scheduled`, 'TaskScheduled', {
        taskScheduledEventDetails: { ...eventBase, region: this.deps.region, parameters: json(params) },
      });
    }
    if (spec.service === 'sns') return this.publish((params ?? {}) as Record<string, unknown>, stepKey, eventBase);

    const p = (params ?? {}) as Record<string, unknown>;
    const token = step?.token ?? stepToken(this.arn, stepKey);
    const input = toBatchInput(p);
    let jobId = step?.jobId;
    if (!jobId && step?.status === 'SUBMITTING' && typeof input.jobQueue === 'string' && typeof input.jobName === 'string') {
      // The server stopped between submitting and recording: the job may exist already.
      jobId = await this.deps.batch.findByTag(input.jobQueue, input.jobName, STEP_TOKEN_TAG, token);
    }
    if (!jobId) {
      checkAborted(scope.signal);
      // Recorded before the submit: a crash after it finds the job by its tag instead of submitting again.
      const until = s.TimeoutSeconds !== undefined ? this.deps.now() + s.TimeoutSeconds * 1000 : undefined;
      step = { status: 'SUBMITTING', token, ...(until !== undefined ? { until } : {}) };
      await store.putStep(this.arn, stepKey, step);
      const tags = { ...((input.tags as Record<string, string>) ?? {}), [STEP_TOKEN_TAG]: token };
      let submitted;
      try {
        submitted = await this.deps.batch.submit({ ...input, tags });
      } catch (e) {
        const code = (e as { code?: string }).code ?? 'ClientException';
        const err = new StatesError(`Batch.${code}`, (e as Error).message);
        await this.failStep(stepKey, err, eventBase, 'TaskSubmitFailed', 'taskSubmitFailedEventDetails');
        throw err;
      }
      jobId = submitted.jobId;
      step = { ...step, status: 'SUBMITTED', jobId };
      await store.putStep(this.arn, stepKey, step);
      const response = { JobArn: submitted.jobArn, JobId: submitted.jobId, JobName: submitted.jobName };
      await this.event(`${stepKey}:submitted`, 'TaskSubmitted', { taskSubmittedEventDetails: { ...eventBase, output: json(response) } });
      if (spec.pattern === 'request-response') return this.succeedStep(stepKey, { token, jobId }, response, eventBase);
    } else if (step?.status !== 'SUBMITTED') {
      step = { ...step, status: 'SUBMITTED', token, jobId };
      await store.putStep(this.arn, stepKey, step);
    }
    if (spec.pattern === 'request-response') {
      const d = await this.deps.batch.describe(jobId);
      return this.succeedStep(stepKey, { token, jobId }, { JobArn: d?.jobArn, JobId: jobId, JobName: d?.jobName }, eventBase);
    }
    let detail;
    try {
      detail = await this.waitForJob(jobId, scope.signal, step?.until);
    } catch (e) {
      if (isStatesError(e)) await this.failStep(stepKey, e, eventBase, e.error === 'States.Timeout' ? 'TaskTimedOut' : 'TaskFailed', e.error === 'States.Timeout' ? 'taskTimedOutEventDetails' : 'taskFailedEventDetails', { token, jobId });
      throw e;
    }
    const result = spec.pattern === 'sync' ? toPascal(detail) : detail;
    if (detail.status === 'SUCCEEDED') return this.succeedStep(stepKey, { token, jobId }, result, eventBase);
    const err = new StatesError('States.TaskFailed', typeof detail.statusReason === 'string' ? detail.statusReason : `Job ${jobId} FAILED`);
    await this.failStep(stepKey, err, eventBase, 'TaskFailed', 'taskFailedEventDetails', { token, jobId });
    throw err;
  }

  /** Polls the job until it ends; past `until` (the task's TimeoutSeconds) it is terminated: States.Timeout. */
  private async waitForJob(jobId: string, signal: AbortSignal, until?: number): Promise<Record<string, unknown>> {
    const pollMs = this.deps.pollMs ?? 250;
    for (;;) {
      const d = await this.describeJob(jobId);
      if (!d) throw new StatesError('States.TaskFailed', `Batch job ${jobId} does not exist`);
      if (d.status === 'SUCCEEDED' || d.status === 'FAILED') return d;
      const left = until === undefined ? Infinity : until - this.deps.now();
      if (left <= 0) {
        await this.deps.batch.terminate(jobId, 'Step Functions task timed out').catch(() => undefined);
        throw new StatesError('States.Timeout', `The task timed out: job ${jobId} was still ${String(d.status)}`);
      }
      try {
        await sleep(Math.min(pollMs, left), signal);
      } catch (e) {
        // A stopped execution or a failed sibling branch ends its jobs; a closing server does not.
        if (e instanceof Aborted && e.reason !== 'shutdown') {
          const reason = { stop: 'Execution stopped', timeout: 'Execution timed out', branch: 'Parallel branch or Map iteration failed' }[e.reason as 'stop'];
          await this.deps.batch.terminate(jobId, reason).catch(() => undefined);
        }
        throw e;
      }
    }
  }

  private async succeedStep(stepKey: string, ids: Partial<StepRecord>, result: unknown, eventBase: Record<string, unknown>): Promise<unknown> {
    await this.deps.store.putStep(this.arn, stepKey, { ...ids, status: 'SUCCEEDED', result });
    await this.event(`${stepKey}:succeeded`, 'TaskSucceeded', { taskSucceededEventDetails: { ...eventBase, output: json(result), outputDetails: { truncated: false } } });
    return result;
  }

  private async failStep(stepKey: string, err: StatesError, eventBase: Record<string, unknown>, type: string, member: string, ids: Partial<StepRecord> = {}): Promise<void> {
    await this.deps.store.putStep(this.arn, stepKey, { ...ids, status: 'FAILED', error: err.error, cause: err.cause });
    await this.event(`${stepKey}:failed`, type, { [member]: { ...eventBase, error: err.error, cause: err.cause } });
  }

  /** sns:publish. A publish interrupted by a restart is published again (at least once, as SNS delivers). */
  private async publish(p: Record<string, unknown>, stepKey: string, eventBase: Record<string, unknown>): Promise<unknown> {
    const { store, publisher, now } = this.deps;
    const topic = p.TopicArn;
    const message = p.Message;
    if (typeof topic !== 'string' || topic === '') {
      const err = new StatesError('SNS.InvalidParameterException', 'Invalid parameter: TopicArn must be a non-empty string');
      await this.failStep(stepKey, err, eventBase, 'TaskFailed', 'taskFailedEventDetails');
      throw err;
    }
    const text = typeof message === 'string' ? message : JSON.stringify(message);
    const subject = typeof p.Subject === 'string' ? p.Subject : undefined;
    await store.putStep(this.arn, stepKey, { status: 'SUBMITTING' });
    const createdAt = now();
    const record = { topicArn: topic, message: text, ...(subject !== undefined ? { subject } : {}), createdAt, executionArn: this.arn };
    let sent;
    try {
      sent = await publisher.publish(topic, text, subject);
    } catch (e) {
      // Recorded even when the publisher fails, with why.
      await store.insertPublish({ ...record, messageId: randomUUID(), delivery: `failed: ${(e as Error).message}` });
      const err = new StatesError('SNS.InternalErrorException', (e as Error).message);
      await this.failStep(stepKey, err, eventBase, 'TaskFailed', 'taskFailedEventDetails');
      throw err;
    }
    // Every publish is recorded, delivered or not (no target configured, a webhook down).
    await store.insertPublish({ ...record, messageId: sent.MessageId, ...(sent.delivery ? { delivery: sent.delivery } : {}) });
    return this.succeedStep(stepKey, {}, { MessageId: sent.MessageId }, eventBase);
  }

  // ----- Parallel and Map

  private async parallel(s: StateDef, input: unknown, key: string, scope: Scope): Promise<unknown[]> {
    await this.event(`${key}:parallel-started`, 'ParallelStateStarted', {});
    const branches = s.Branches ?? [];
    try {
      const out = await this.fanOut(branches.length, 0, scope, (i, child) => this.runBranch(branches[i], input, { signal: child, prefix: `${key}/${i}/` }));
      await this.event(`${key}:parallel-succeeded`, 'ParallelStateSucceeded', {});
      return out;
    } catch (e) {
      if (!(e instanceof Aborted)) await this.event(`${key}:parallel-failed`, 'ParallelStateFailed', {});
      throw e;
    }
  }

  private async map(name: string, s: StateDef, input: unknown, key: string, scope: Scope, ctx: Record<string, unknown>): Promise<unknown[]> {
    const items = evaluatePath(s.ItemsPath ?? '$', input, ctx);
    if (!Array.isArray(items)) throw runtimeError(`${name}: ItemsPath ${s.ItemsPath ?? '$'} must select an array, got ${preview(items)}`);
    const processor = (s.ItemProcessor ?? s.Iterator)!;
    const selector = s.ItemSelector ?? s.Parameters;
    await this.event(`${key}:map-started`, 'MapStateStarted', { mapStateStartedEventDetails: { length: items.length } });
    try {
      const out = await this.fanOut(items.length, s.MaxConcurrency ?? 0, scope, async (i, child) => {
        const item = { Index: i, Value: items[i] };
        const ictx = { ...ctx, Map: { Item: item } };
        const itemInput = selector !== undefined ? applyTemplate(selector, this.env(input, ictx)) : items[i];
        await this.event(`${key}/${i}:iteration-started`, 'MapIterationStarted', { mapIterationStartedEventDetails: { name, index: i } });
        try {
          const r = await this.runBranch(processor, itemInput, { signal: child, prefix: `${key}/${i}/`, item });
          await this.event(`${key}/${i}:iteration-succeeded`, 'MapIterationSucceeded', { mapIterationSucceededEventDetails: { name, index: i } });
          return r;
        } catch (e) {
          if (!(e instanceof Aborted)) await this.event(`${key}/${i}:iteration-failed`, 'MapIterationFailed', { mapIterationFailedEventDetails: { name, index: i } });
          throw e;
        }
      });
      await this.event(`${key}:map-succeeded`, 'MapStateSucceeded', {});
      return out;
    } catch (e) {
      if (!(e instanceof Aborted)) await this.event(`${key}:map-failed`, 'MapStateFailed', {});
      throw e;
    }
  }

  /**
   * Runs `count` branches, at most `limit` at once (0: all), results in order. The first failure
   * stops the others (their Batch jobs are terminated) and is what the state fails with.
   */
  private async fanOut<T>(count: number, limit: number, scope: Scope, fn: (i: number, signal: AbortSignal) => Promise<T>): Promise<T[]> {
    const controller = childController(scope.signal);
    const results = new Array<T>(count);
    let failure: unknown;
    let nextIndex = 0;
    const worker = async () => {
      while (failure === undefined && nextIndex < count) {
        const i = nextIndex++;
        try {
          results[i] = await fn(i, controller.signal);
        } catch (e) {
          if (failure === undefined && !(e instanceof Aborted && e.reason === 'branch')) {
            failure = e;
            if (!(e instanceof Aborted)) controller.abort('branch');
          }
        }
      }
    };
    const width = limit > 0 ? Math.min(limit, count) : count;
    await Promise.all(Array.from({ length: width }, worker));
    if (failure !== undefined) throw failure;
    checkAborted(scope.signal);
    return results;
  }
}
