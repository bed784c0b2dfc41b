// Step Functions' control plane: state machines (create, describe, update, delete, list) and
// executions (start, describe, stop, list, history). Definitions are checked at create and
// update (src/core/asl/definition.ts); executions are run by the runner (src/server/states).

import type { Arns } from '../core/arn.js';
import { DefinitionError, parseDefinition } from '../core/asl/definition.js';
import type { ExecutionRecord, ExecutionStatus, HistoryEvent, StateMachineRecord } from '../core/asl/records.js';
import type { StatesStore } from '../store/states-store.js';

/** A Step Functions API error: code (`StateMachineDoesNotExist`, ...) and message. */
export class StatesApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const err = (code: string, message: string) => new StatesApiError(code, message);

export interface ExecutionControl {
  start(exec: ExecutionRecord): void;
  stop(exec: ExecutionRecord, error?: string, cause?: string): Promise<number>;
}

export interface StatesServiceDeps {
  store: StatesStore;
  arns: Arns;
  now: () => number;
  newUuid: () => string;
  runner: ExecutionControl;
}

/** Definitions are at most 1 MiB; inputs 256 KiB (AWS's quotas). */
const MAX_DEFINITION = 1024 * 1024;
const MAX_INPUT = 256 * 1024;

/** Step Functions names: 1 to 80 characters, none of whitespace, brackets, wildcards, `"#%\^|~`$&,;:/` or control characters. */
export function checkName(name: unknown, what: string): string {
  if (typeof name !== 'string' || name.length < 1 || name.length > 80) throw err('InvalidName', `Invalid Name: '${String(name)}' (${what} names are 1 to 80 characters)`);
  // eslint-disable-next-line no-control-regex
  if (/[\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]/.test(name)) {
    throw err('InvalidName', `Invalid Name: '${name}' (${what} names may not contain whitespace, brackets, wildcards or "#%\\^|~\`$&,;:/)`);
  }
  return name;
}

/** CreateStateMachine's tags: a list of {key, value}, kept with the state machine. */
function checkTags(v: unknown): Record<string, string> | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length > 50) throw err('ValidationException', 'tags: a list of at most 50 {key, value} objects');
  const out: Record<string, string> = {};
  for (const t of v) {
    const key = (t as { key?: unknown })?.key;
    const value = (t as { value?: unknown })?.value ?? '';
    if (typeof key !== 'string' || key.length < 1 || key.length > 128 || typeof value !== 'string' || value.length > 256) {
      throw err('ValidationException', 'tags: each tag needs a key (1 to 128 characters) and a value (at most 256)');
    }
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

export class StatesService {
  private readonly lock: <T>(fn: () => Promise<T>) => Promise<T>;

  constructor(private readonly deps: StatesServiceDeps) {
    let tail: Promise<unknown> = Promise.resolve();
    this.lock = <T>(fn: () => Promise<T>) => {
      const run = tail.then(fn, fn);
      tail = run.catch(() => undefined);
      return run;
    };
  }

  private get prefix(): string {
    const { partition, region, accountId } = this.deps.arns.ctx;
    return `arn:${partition}:states:${region}:${accountId}`;
  }

  stateMachineArn(name: string): string {
    return `${this.prefix}:stateMachine:${name}`;
  }

  private checkDefinition(definition: unknown): void {
    if (typeof definition !== 'string') throw err('ValidationException', 'definition: a JSON string is required');
    if (Buffer.byteLength(definition) > MAX_DEFINITION) throw err('ValidationException', `definition: at most ${MAX_DEFINITION} bytes`);
    try {
      parseDefinition(definition);
    } catch (e) {
      if (e instanceof DefinitionError) throw err('InvalidDefinition', e.message);
      throw e;
    }
  }

  private checkArn(arn: unknown, kind: 'stateMachine' | 'execution', field: string): string {
    if (typeof arn !== 'string' || arn === '') throw err('ValidationException', `${field}: an ARN is required`);
    const parts = arn.split(':');
    if (parts.length < 7 || parts[0] !== 'arn' || parts[2] !== 'states' || parts[5] !== kind || (kind === 'execution' && parts.length !== 8)) {
      throw err('InvalidArn', `Invalid Arn: '${arn}' is not a ${kind === 'stateMachine' ? 'state machine' : 'execution'} ARN`);
    }
    return arn;
  }

  async getStateMachine(arn: unknown, field = 'stateMachineArn'): Promise<StateMachineRecord> {
    const a = this.checkArn(arn, 'stateMachine', field);
    const sm = await this.deps.store.getStateMachine(a);
    if (!sm || sm.status !== 'ACTIVE') throw err('StateMachineDoesNotExist', `State Machine Does Not Exist: '${a}'`);
    return sm;
  }

  createStateMachine(i: Record<string, unknown>): Promise<StateMachineRecord> {
    return this.lock(async () => {
      const name = checkName(i.name, 'state machine');
      this.checkDefinition(i.definition);
      if (typeof i.roleArn !== 'string' || i.roleArn === '') throw err('ValidationException', 'roleArn: an IAM role ARN is required (OpenBatch does not use it)');
      const type = i.type ?? 'STANDARD';
      if (type === 'EXPRESS') throw err('ValidationException', 'type: EXPRESS state machines are not supported by OpenBatch; use STANDARD');
      if (type !== 'STANDARD') throw err('ValidationException', `type: '${String(type)}' is not STANDARD or EXPRESS`);
      if (i.publish === true) throw err('ValidationException', 'publish: state machine versions are not supported by OpenBatch');
      const tags = checkTags(i.tags);
      const arn = this.stateMachineArn(name);
      const existing = await this.deps.store.getStateMachine(arn);
      if (existing) {
        // CreateStateMachine is idempotent: the same definition and role give the existing one back.
        if (existing.definition === i.definition && existing.roleArn === i.roleArn && existing.status === 'ACTIVE') return existing;
        throw err('StateMachineAlreadyExists', `State Machine Already Exists: '${arn}'`);
      }
      const sm: StateMachineRecord = {
        stateMachineArn: arn,
        name,
        definition: i.definition as string,
        roleArn: i.roleArn,
        type: 'STANDARD',
        status: 'ACTIVE',
        creationDate: this.deps.now(),
        revisionId: this.deps.newUuid(),
        ...(i.loggingConfiguration !== undefined ? { loggingConfiguration: i.loggingConfiguration } : {}),
        ...(i.tracingConfiguration !== undefined ? { tracingConfiguration: i.tracingConfiguration } : {}),
        ...(tags ? { tags } : {}),
      };
      await this.deps.store.insertStateMachine(sm);
      return sm;
    });
  }

  updateStateMachine(i: Record<string, unknown>): Promise<StateMachineRecord> {
    return this.lock(async () => {
      const sm = await this.getStateMachine(i.stateMachineArn);
      if (i.definition === undefined && i.roleArn === undefined && i.loggingConfiguration === undefined && i.tracingConfiguration === undefined) {
        throw err('MissingRequiredParameter', 'Either the definition, the roleArn, the loggingConfiguration or the tracingConfiguration must be given');
      }
      if (i.definition !== undefined) this.checkDefinition(i.definition);
      if (i.roleArn !== undefined && (typeof i.roleArn !== 'string' || i.roleArn === '')) throw err('ValidationException', 'roleArn: must be a non-empty string');
      const updated: StateMachineRecord = {
        ...sm,
        ...(i.definition !== undefined ? { definition: i.definition as string } : {}),
        ...(i.roleArn !== undefined ? { roleArn: i.roleArn as string } : {}),
        ...(i.loggingConfiguration !== undefined ? { loggingConfiguration: i.loggingConfiguration } : {}),
        ...(i.tracingConfiguration !== undefined ? { tracingConfiguration: i.tracingConfiguration } : {}),
        revisionId: this.deps.newUuid(),
      };
      await this.deps.store.updateStateMachine(updated);
      return updated;
    });
  }

  /** Deletes a state machine; its executions keep running to their end, as on AWS. */
  deleteStateMachine(i: Record<string, unknown>): Promise<void> {
    return this.lock(async () => {
      const arn = this.checkArn(i.stateMachineArn, 'stateMachine', 'stateMachineArn');
      await this.deps.store.deleteStateMachine(arn);
    });
  }

  listStateMachines(): Promise<StateMachineRecord[]> {
    return this.deps.store.listStateMachines();
  }

  startExecution(i: Record<string, unknown>): Promise<ExecutionRecord> {
    return this.lock(async () => {
      const sm = await this.getStateMachine(i.stateMachineArn);
      const name = i.name === undefined ? this.deps.newUuid() : checkName(i.name, 'execution');
      const input = i.input === undefined ? '{}' : i.input;
      if (typeof input !== 'string') throw err('InvalidExecutionInput', 'input: a JSON string is required');
      if (Buffer.byteLength(input) > MAX_INPUT) throw err('InvalidExecutionInput', `input: at most ${MAX_INPUT} bytes`);
      try {
        JSON.parse(input);
      } catch (e) {
        throw err('InvalidExecutionInput', `Invalid State Machine Execution Input: '${(e as Error).message}'`);
      }
      const executionArn = `${this.prefix}:execution:${sm.name}:${name}`;
      const existing = await this.deps.store.getExecution(executionArn);
      if (existing) {
        // Idempotent for a RUNNING execution with the same input, as AWS's standard workflows are.
        if (existing.status === 'RUNNING' && existing.input === input) return existing;
        throw err('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
      }
      const startDate = this.deps.now();
      const exec: ExecutionRecord = {
        executionArn,
        stateMachineArn: sm.stateMachineArn,
        stateMachineName: sm.name,
        name,
        status: 'RUNNING',
        startDate,
        input,
        definition: sm.definition,
      };
      await this.deps.store.insertExecution(exec, {
        key: 'execution:started',
        timestamp: startDate,
        type: 'ExecutionStarted',
        details: { executionStartedEventDetails: { input, inputDetails: { truncated: false }, roleArn: sm.roleArn } },
      });
      this.deps.runner.start(exec);
      return exec;
    });
  }

  async getExecution(arn: unknown): Promise<ExecutionRecord> {
    const a = this.checkArn(arn, 'execution', 'executionArn');
    const e = await this.deps.store.getExecution(a);
    if (!e) throw err('ExecutionDoesNotExist', `Execution Does Not Exist: '${a}'`);
    return e;
  }

  async stopExecution(i: Record<string, unknown>): Promise<number> {
    const e = await this.getExecution(i.executionArn);
    for (const f of ['error', 'cause'] as const) {
      if (i[f] !== undefined && typeof i[f] !== 'string') throw err('ValidationException', `${f}: must be a string`);
    }
    if (e.status !== 'RUNNING') return e.stopDate ?? this.deps.now(); // AWS answers a finished one with its stop date
    return this.deps.runner.stop(e, i.error as string | undefined, i.cause as string | undefined);
  }

  async listExecutions(i: { stateMachineArn: unknown; statusFilter?: unknown; offset: number; limit: number }): Promise<ExecutionRecord[]> {
    const sm = await this.getStateMachine(i.stateMachineArn);
    const statuses = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE'];
    if (i.statusFilter !== undefined && !statuses.includes(i.statusFilter as string)) {
      throw err('ValidationException', `statusFilter: '${String(i.statusFilter)}' is not one of ${statuses.join(', ')}`);
    }
    return this.deps.store.listExecutions({ stateMachineArn: sm.stateMachineArn, status: i.statusFilter as ExecutionStatus | undefined, offset: i.offset, limit: i.limit });
  }

  /** TagResource, UntagResource, ListTagsForResource: tags of a state machine (ResourceNotFound otherwise). */
  tagResource(i: Record<string, unknown>): Promise<void> {
    return this.lock(async () => {
      const sm = await this.tagged(i.resourceArn);
      const tags = checkTags(i.tags) ?? {};
      const merged = { ...(sm.tags ?? {}), ...tags };
      if (Object.keys(merged).length > 50) throw err('TooManyTags', `Too many tags: a state machine has at most 50 (${sm.stateMachineArn})`);
      await this.deps.store.updateStateMachine({ ...sm, tags: merged });
    });
  }

  untagResource(i: Record<string, unknown>): Promise<void> {
    return this.lock(async () => {
      const sm = await this.tagged(i.resourceArn);
      if (!Array.isArray(i.tagKeys) || !i.tagKeys.every((k) => typeof k === 'string')) throw err('ValidationException', 'tagKeys: a list of tag keys is required');
      const tags = { ...(sm.tags ?? {}) };
      for (const k of i.tagKeys as string[]) delete tags[k];
      await this.deps.store.updateStateMachine({ ...sm, tags });
    });
  }

  async listTags(i: Record<string, unknown>): Promise<Record<string, string>> {
    return (await this.tagged(i.resourceArn)).tags ?? {};
  }

  private async tagged(arn: unknown): Promise<StateMachineRecord> {
    if (typeof arn !== 'string' || arn === '') throw err('ValidationException', 'resourceArn: an ARN is required');
    const sm = arn.split(':')[5] === 'stateMachine' ? await this.deps.store.getStateMachine(arn) : undefined;
    if (!sm) throw err('ResourceNotFound', `Resource not found: '${arn}' (OpenBatch tags state machines)`);
    return sm;
  }

  async history(i: { executionArn: unknown; reverse: boolean; afterId?: number; beforeId?: number; limit: number }): Promise<HistoryEvent[]> {
    const e = await this.getExecution(i.executionArn);
    return this.deps.store.history(e.executionArn, { reverse: i.reverse, afterId: i.afterId, beforeId: i.beforeId, limit: i.limit });
  }
}
