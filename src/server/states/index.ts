// Step Functions in the server: the runner, the control-plane service and the API, wired to
// this server's Batch service and store. `sns:publish` goes to the publisher the composition root
// passes (the notification topics of --notifications-file, delivered durably by the events module).

import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { statesApi } from '../../api/states/handlers.js';
import type { AwsJsonService } from '../../api/aws-json.js';
import type { Arns } from '../../core/arn.js';
import type { BatchService } from '../../service/index.js';
import { StatesService } from '../../service/states.js';
import type { Store } from '../../store/store.js';
import { batchGateway, type NotificationPublisher } from './integrations.js';
import { ExecutionRunner } from './runner.js';

export interface StepFunctions {
  api: AwsJsonService;
  service: StatesService;
  runner: ExecutionRunner;
  /** Resumes the executions a previous run left RUNNING (call once Batch has recovered). */
  resume(): Promise<number>;
  close(): Promise<void>;
}

export function createStepFunctions(deps: {
  store: Store;
  batch: BatchService;
  arns: Arns;
  now: () => number;
  log: Logger;
  publisher: NotificationPublisher;
  pollMs?: number;
}): StepFunctions {
  const runner = new ExecutionRunner({
    store: deps.store.states,
    batch: batchGateway(deps.batch, deps.arns),
    publisher: deps.publisher,
    now: deps.now,
    log: deps.log,
    region: deps.arns.ctx.region,
    pollMs: deps.pollMs,
  });
  const service = new StatesService({ store: deps.store.states, arns: deps.arns, now: deps.now, newUuid: randomUUID, runner });
  return { api: statesApi(service), service, runner, resume: () => runner.resumeAll(), close: () => runner.close() };
}
