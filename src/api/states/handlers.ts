// The Step Functions API (awsJson 1.0, `X-Amz-Target: AWSStepFunctions.<Op>`, SigV4 name
// `states`) on POST /: input checks, the service call, and answers in the API's shapes
// (timestamps as epoch seconds). Errors come back with Step Functions' codes.

import type { ExecutionRecord, HistoryEvent, StateMachineRecord } from '../../core/asl/records.js';
import { StatesApiError, type StatesService } from '../../service/states.js';
import { accessDenied } from '../auth/errors.js';
import { awsJsonError, type AwsJsonContext, type AwsJsonHandler, type AwsJsonService } from '../aws-json.js';

const secs = (ms: number | undefined) => (ms === undefined ? undefined : ms / 1000);

/**
 * A key limited to some job queues may read workflows but not create, change or start them: a
 * workflow submits its Batch jobs as the server, to whatever queue its definition names.
 */
function checkQueueLimited(operation: string, context: AwsJsonContext): void {
  const p = context.principal;
  const queues = p?.key.jobQueues;
  if (!p || !queues || /^(Describe|List|Get)[A-Z]/.test(operation)) return;
  throw accessDenied(
    `User: ${p.accessKeyId} is not authorized to perform: states:${operation} on resource: * (access key ${p.accessKeyId} may use only job queues: ${queues.join(', ')}; ` +
      'a workflow submits Batch jobs to any queue its definition names, so Step Functions writes need a key without a jobQueues limit)',
  );
}

function wrap(operation: string, fn: (i: Record<string, unknown>) => Promise<unknown>): AwsJsonHandler {
  return async (input, context) => {
    checkQueueLimited(operation, context);
    try {
      return await fn(input);
    } catch (e) {
      if (e instanceof StatesApiError) throw awsJsonError(e.code, e.message);
      throw e;
    }
  };
}

function checkString(i: Record<string, unknown>, field: string, required: boolean): void {
  const v = i[field];
  if (v === undefined) {
    if (required) throw awsJsonError('ValidationException', `1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null`);
    return;
  }
  if (typeof v !== 'string') throw awsJsonError('ValidationException', `${field}: must be a string`);
}

/** maxResults (0 to 1000, 0 meaning the default) and nextToken (an offset or an event id). */
function page(i: Record<string, unknown>, defaultMax: number): { limit: number; token?: number } {
  let limit = defaultMax;
  if (i.maxResults !== undefined) {
    const m = i.maxResults;
    if (typeof m !== 'number' || !Number.isInteger(m) || m < 0 || m > 1000) throw awsJsonError('ValidationException', 'maxResults: must be an integer from 0 to 1000');
    if (m > 0) limit = m;
  }
  let token: number | undefined;
  if (i.nextToken !== undefined) {
    const t = i.nextToken;
    const text = typeof t === 'string' ? Buffer.from(t, 'base64url').toString('utf8') : '';
    const n = /^\d{1,15}$/.test(text) ? Number(text) : NaN;
    if (!Number.isInteger(n) || n < 0) throw awsJsonError('InvalidToken', 'Invalid Token: pass the nextToken of the previous answer unchanged');
    token = n;
  }
  return { limit, token };
}

const tokenOf = (n: number) => Buffer.from(String(n), 'utf8').toString('base64url');

function presentExecutionItem(e: ExecutionRecord) {
  return { executionArn: e.executionArn, stateMachineArn: e.stateMachineArn, name: e.name, status: e.status, startDate: secs(e.startDate), stopDate: secs(e.stopDate) };
}

function presentStateMachine(sm: StateMachineRecord) {
  return {
    stateMachineArn: sm.stateMachineArn,
    name: sm.name,
    status: sm.status,
    definition: sm.definition,
    roleArn: sm.roleArn,
    type: sm.type,
    creationDate: secs(sm.creationDate),
    revisionId: sm.revisionId,
    loggingConfiguration: sm.loggingConfiguration ?? { level: 'OFF', includeExecutionData: false },
    tracingConfiguration: sm.tracingConfiguration ?? { enabled: false },
  };
}

function presentEvent(e: HistoryEvent, includeData: boolean) {
  const details: Record<string, unknown> = {};
  for (const [member, v] of Object.entries(e.details)) {
    if (includeData || v === null || typeof v !== 'object') details[member] = v;
    else {
      // includeExecutionData false: the events without inputs and outputs.
      const { input: _i, output: _o, ...rest } = v as Record<string, unknown>;
      details[member] = rest;
    }
  }
  return { timestamp: secs(e.timestamp), type: e.type, id: e.id, previousEventId: e.previousEventId, ...details };
}

export function statesApi(service: StatesService): AwsJsonService {
  return {
    targetPrefix: 'AWSStepFunctions',
    signingName: 'states',
    jsonVersion: '1.0',
    validationErrorCode: 'ValidationException',
    handlers: {
      CreateStateMachine: wrap('CreateStateMachine', async (i) => {
        for (const f of ['name', 'definition', 'roleArn']) checkString(i, f, true);
        const sm = await service.createStateMachine(i);
        return { stateMachineArn: sm.stateMachineArn, creationDate: secs(sm.creationDate) };
      }),
      DescribeStateMachine: wrap('DescribeStateMachine', async (i) => {
        checkString(i, 'stateMachineArn', true);
        return presentStateMachine(await service.getStateMachine(i.stateMachineArn));
      }),
      UpdateStateMachine: wrap('UpdateStateMachine', async (i) => {
        checkString(i, 'stateMachineArn', true);
        const sm = await service.updateStateMachine(i);
        return { updateDate: Date.now() / 1000, revisionId: sm.revisionId };
      }),
      DeleteStateMachine: wrap('DeleteStateMachine', async (i) => {
        checkString(i, 'stateMachineArn', true);
        await service.deleteStateMachine(i);
        return {};
      }),
      ListStateMachines: wrap('ListStateMachines', async (i) => {
        const { limit, token } = page(i, 100);
        const all = await service.listStateMachines();
        const offset = token ?? 0;
        const items = all.slice(offset, offset + limit);
        return {
          stateMachines: items.map((sm) => ({ stateMachineArn: sm.stateMachineArn, name: sm.name, type: sm.type, creationDate: secs(sm.creationDate) })),
          ...(offset + limit < all.length ? { nextToken: tokenOf(offset + limit) } : {}),
        };
      }),
      StartExecution: wrap('StartExecution', async (i) => {
        checkString(i, 'stateMachineArn', true);
        checkString(i, 'name', false);
        checkString(i, 'input', false);
        const e = await service.startExecution(i);
        return { executionArn: e.executionArn, startDate: secs(e.startDate) };
      }),
      DescribeExecution: wrap('DescribeExecution', async (i) => {
        checkString(i, 'executionArn', true);
        const e = await service.getExecution(i.executionArn);
        return {
          ...presentExecutionItem(e),
          input: e.input,
          inputDetails: { included: true },
          ...(e.output !== undefined ? { output: e.output, outputDetails: { included: true } } : {}),
          ...(e.error !== undefined ? { error: e.error } : {}),
          ...(e.cause !== undefined ? { cause: e.cause } : {}),
        };
      }),
      StopExecution: wrap('StopExecution', async (i) => {
        checkString(i, 'executionArn', true);
        return { stopDate: secs(await service.stopExecution(i)) };
      }),
      ListExecutions: wrap('ListExecutions', async (i) => {
        if (i.mapRunArn !== undefined) throw awsJsonError('ValidationException', 'mapRunArn: distributed Map runs are not supported by OpenBatch');
        checkString(i, 'stateMachineArn', true);
        const { limit, token } = page(i, 100);
        const offset = token ?? 0;
        const list = await service.listExecutions({ stateMachineArn: i.stateMachineArn, statusFilter: i.statusFilter, offset, limit: limit + 1 });
        return { executions: list.slice(0, limit).map(presentExecutionItem), ...(list.length > limit ? { nextToken: tokenOf(offset + limit) } : {}) };
      }),
      DescribeStateMachineForExecution: wrap('DescribeStateMachineForExecution', async (i) => {
        checkString(i, 'executionArn', true);
        const e = await service.getExecution(i.executionArn);
        // The definition the execution runs (the state machine's when it started).
        const sm = await service.getStateMachine(e.stateMachineArn).catch(() => undefined);
        return { stateMachineArn: e.stateMachineArn, name: e.stateMachineName, definition: e.definition, roleArn: sm?.roleArn ?? '', updateDate: secs(e.startDate) };
      }),
      TagResource: wrap('TagResource', async (i) => {
        checkString(i, 'resourceArn', true);
        await service.tagResource(i);
        return {};
      }),
      UntagResource: wrap('UntagResource', async (i) => {
        checkString(i, 'resourceArn', true);
        await service.untagResource(i);
        return {};
      }),
      ListTagsForResource: wrap('ListTagsForResource', async (i) => {
        checkString(i, 'resourceArn', true);
        return { tags: Object.entries(await service.listTags(i)).map(([key, value]) => ({ key, value })) };
      }),
      GetExecutionHistory: wrap('GetExecutionHistory', async (i) => {
        checkString(i, 'executionArn', true);
        const { limit, token } = page(i, 100);
        if (i.reverseOrder !== undefined && typeof i.reverseOrder !== 'boolean') throw awsJsonError('ValidationException', 'reverseOrder: must be a boolean');
        if (i.includeExecutionData !== undefined && typeof i.includeExecutionData !== 'boolean') throw awsJsonError('ValidationException', 'includeExecutionData: must be a boolean');
        const reverse = i.reverseOrder === true;
        const events = await service.history({
          executionArn: i.executionArn,
          reverse,
          ...(token !== undefined ? (reverse ? { beforeId: token } : { afterId: token }) : {}),
          limit: limit + 1,
        });
        const shown = events.slice(0, limit);
        return {
          events: shown.map((e) => presentEvent(e, i.includeExecutionData !== false)),
          ...(events.length > limit ? { nextToken: tokenOf(shown[shown.length - 1].id) } : {}),
        };
      }),
    },
  };
}
