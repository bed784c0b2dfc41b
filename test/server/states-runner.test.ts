// The Step Functions runner in process, on a real store (SQLite, and PostgreSQL when one is
// reachable) with a scripted Batch: Map (MaxConcurrency, ItemSelector, $$.Map.Item), Parallel
// (results in order, a failing branch stops the others), Wait, Choice loops, Catch/Retry on
// Map and Parallel, the crash window between submit and its record, and the history store.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { Arns } from '../../src/core/arn.js';
import { ExecutionRunner, STEP_TOKEN_TAG } from '../../src/server/states/runner.js';
import { stepToken, type BatchGateway, type NotificationPublisher } from '../../src/server/states/integrations.js';
import { StatesService } from '../../src/service/states.js';
import { openStore } from '../../src/store/sql-store.js';
import type { Store } from '../../src/store/store.js';
import { freshPostgresDatabase, waitFor } from '../helpers/server.js';

/** A scripted Batch: jobs named `fail*` fail; each job reports RUNNING for `polls` describes first. */
class FakeBatch implements BatchGateway {
  jobs = new Map<string, { input: Record<string, any>; polls: number; status: string; tags: Record<string, string> }>();
  running = 0;
  maxRunning = 0;
  terminated: string[] = [];
  constructor(private readonly polls = 2) {}
  async submit(input: Record<string, any>) {
    const jobId = `job-${this.jobs.size + 1}`;
    this.jobs.set(jobId, { input, polls: this.polls, status: 'RUNNING', tags: input.tags ?? {} });
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    return { jobArn: `arn:aws:batch:us-east-1:000000000000:job/${jobId}`, jobName: input.jobName, jobId };
  }
  async describe(jobId: string) {
    const j = this.jobs.get(jobId);
    if (!j) return undefined;
    if (j.status === 'RUNNING' && j.polls-- <= 0) {
      j.status = String(j.input.jobName).startsWith('fail') ? 'FAILED' : 'SUCCEEDED';
      this.running--;
    }
    return { jobId, jobName: j.input.jobName, status: j.status, ...(j.status === 'FAILED' ? { statusReason: `${j.input.jobName} exited 1` } : {}), container: { command: j.input.containerOverrides?.command ?? [] } };
  }
  describeCalls = 0;
  async describeMany(ids: readonly string[]) {
    this.describeCalls++;
    const out = new Map<string, Record<string, unknown>>();
    for (const id of ids) {
      const d = await this.describe(id);
      if (d) out.set(id, d);
    }
    return out;
  }
  async terminate(jobId: string) {
    const j = this.jobs.get(jobId);
    if (j && j.status === 'RUNNING') {
      j.status = 'FAILED';
      this.running--;
    }
    this.terminated.push(jobId);
  }
  async findByTag(_q: string, name: string, key: string, value: string) {
    return [...this.jobs].find(([, j]) => j.input.jobName === name && j.tags[key] === value)?.[0];
  }
}

const published: { topic: string; message: string }[] = [];
const publisher: NotificationPublisher = {
  async publish(topic, message) {
    published.push({ topic, message });
    return { MessageId: `m-${published.length}` };
  },
};

const batchTask = (name: string, extra: Record<string, unknown> = {}) => ({
  Type: 'Task',
  Resource: 'arn:aws:states:::batch:submitJob.sync',
  Parameters: { JobName: name, JobDefinition: 'd', JobQueue: 'q' },
  ...extra,
});

function suite(label: string, open: () => Promise<Store>, cleanup: () => Promise<void>) {
  describe(`states runner (${label})`, () => {
    const stores: Store[] = [];
    const runners: ExecutionRunner[] = [];
    after(async () => {
      for (const r of runners) await r.close();
      for (const s of stores) await s.close().catch((e) => process.stderr.write(`close: ${e}\n`));
      await cleanup();
    });

    async function harness(batch = new FakeBatch()) {
      const store = await open();
      stores.push(store);
      const runner = new ExecutionRunner({ store: store.states, batch, publisher, now: Date.now, log: pino({ level: 'silent' }), region: 'us-east-1', pollMs: 2, maxHistoryEvents: 500 });
      runners.push(runner);
      const service = new StatesService({ store: store.states, arns: new Arns({ partition: 'aws', region: 'us-east-1', accountId: '000000000000' }), now: Date.now, newUuid: () => `u${Math.random().toString(36).slice(2)}`, runner });
      let n = 0;
      const execute = async (definition: unknown, input: unknown = {}) => {
        const name = `sm${++n}-${Math.random().toString(36).slice(2, 8)}`;
        const sm = await service.createStateMachine({ name, definition: JSON.stringify(definition), roleArn: 'r' });
        const e = await service.startExecution({ stateMachineArn: sm.stateMachineArn, input: JSON.stringify(input) });
        const done = await waitFor('the execution to end', async () => {
          const x = await store.states.getExecution(e.executionArn);
          return x && x.status !== 'RUNNING' ? x : undefined;
        });
        const events = await store.states.history(e.executionArn, { limit: 10_000, reverse: false });
        return { done, events, output: done.output !== undefined ? JSON.parse(done.output) : undefined };
      };
      return { store, runner, service, batch, execute };
    }

    test('Map: MaxConcurrency caps jobs at once, ItemSelector and $$.Map.Item, results in item order', async () => {
      const h = await harness(new FakeBatch(3));
      const { done, output, events } = await h.execute(
        {
          StartAt: 'Fan',
          States: {
            Fan: {
              Type: 'Map',
              ItemsPath: '$.items',
              MaxConcurrency: 2,
              ItemSelector: { 'index.$': '$$.Map.Item.Index', 'value.$': '$$.Map.Item.Value', 'tag.$': '$.tag' },
              ItemProcessor: {
                StartAt: 'Run',
                States: {
                  Run: batchTask('item', { Parameters: { 'JobName.$': "States.Format('item-{}', $.index)", JobDefinition: 'd', JobQueue: 'q', ContainerOverrides: { 'Command.$': 'States.Array($.value)' } }, ResultSelector: { 'name.$': '$.JobName', 'cmd.$': '$.Container.Command' }, Next: 'Tag' }),
                  Tag: { Type: 'Pass', Parameters: { 'name.$': '$.name', 'cmd.$': '$.cmd[0]' }, End: true },
                },
              },
              ResultPath: '$.results',
              End: true,
            },
          },
        },
        { items: ['a', 'b', 'c', 'd', 'e'], tag: 't' },
      );
      assert.equal(done.status, 'SUCCEEDED', done.cause);
      assert.deepEqual(output.results, ['a', 'b', 'c', 'd', 'e'].map((v, i) => ({ name: `item-${i}`, cmd: v })));
      assert.equal(h.batch.maxRunning, 2);
      assert.equal(events.filter((e) => e.type === 'MapIterationSucceeded').length, 5);
      assert.deepEqual(events.find((e) => e.type === 'MapStateStarted')?.details, { mapStateStartedEventDetails: { length: 5 } });

      // Fifty iterations waiting on their jobs at once: their polls are coalesced into few DescribeJobs.
      const wide = await harness(new FakeBatch(3));
      const r = await wide.execute({ StartAt: 'Fan', States: { Fan: { Type: 'Map', ItemProcessor: { StartAt: 'Run', States: { Run: batchTask('wide', { ResultSelector: { 's.$': '$.Status' }, End: true }) } }, End: true } } }, Array.from({ length: 50 }, (_, i) => i));
      assert.equal(r.done.status, 'SUCCEEDED', r.done.cause);
      assert.equal(r.output.length, 50);
      assert.equal(wide.batch.maxRunning, 50);
      assert.ok(wide.batch.describeCalls < 50, `${wide.batch.describeCalls} DescribeJobs calls for 50 jobs polled 4 times each`);
    });

    test('Parallel: branch results in order; a failing branch stops the others and Catch routes it', async () => {
      const h = await harness(new FakeBatch(1));
      const ok = await h.execute({
        StartAt: 'Both',
        States: {
          Both: {
            Type: 'Parallel',
            Branches: [
              { StartAt: 'A', States: { A: { Type: 'Pass', Result: 1, End: true } } },
              { StartAt: 'B', States: { B: batchTask('b', { ResultSelector: { 's.$': '$.Status' }, End: true }) } },
            ],
            End: true,
          },
        },
      });
      assert.equal(ok.done.status, 'SUCCEEDED');
      assert.deepEqual(ok.output, [1, { s: 'SUCCEEDED' }]);

      const slow = new FakeBatch(1_000_000);
      const h2 = await harness(slow);
      const failing = await h2.execute({
        StartAt: 'Both',
        States: {
          Both: {
            Type: 'Parallel',
            Branches: [
              { StartAt: 'Slow', States: { Slow: batchTask('slow', { End: true }) } },
              { StartAt: 'Boom', States: { Boom: { Type: 'Fail', Error: 'Boom', Cause: 'branch 2' } } },
            ],
            Catch: [{ ErrorEquals: ['Boom'], ResultPath: '$.err', Next: 'Handled' }],
            End: true,
          },
          Handled: { Type: 'Pass', End: true },
        },
      }, { keep: true });
      assert.equal(failing.done.status, 'SUCCEEDED');
      assert.deepEqual(failing.output, { keep: true, err: { Error: 'Boom', Cause: 'branch 2' } });
      assert.ok(failing.events.some((e) => e.type === 'ParallelStateFailed'));
      // The slow branch's job was terminated when its sibling failed (if it had been submitted).
      for (const id of slow.jobs.keys()) assert.ok(slow.terminated.includes(id), `job ${id} terminated`);
    });

    test('Retry on a Map whose iteration fails, then Catch; Choice loops count visits', async () => {
      const h = await harness(new FakeBatch(0));
      const r = await h.execute({
        StartAt: 'M',
        States: {
          M: {
            Type: 'Map',
            ItemProcessor: { StartAt: 'J', States: { J: batchTask('fail-item', { End: true }) } },
            Retry: [{ ErrorEquals: ['States.TaskFailed'], IntervalSeconds: 1, MaxAttempts: 1, BackoffRate: 1, JitterStrategy: 'FULL' }],
            Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Count' }],
            End: true,
          },
          Count: { Type: 'Pass', Parameters: { i: 0 }, Next: 'Loop' },
          Loop: { Type: 'Choice', Choices: [{ Variable: '$.i', NumericLessThan: 3, Next: 'Inc' }], Default: 'Done' },
          Inc: { Type: 'Pass', Parameters: { 'i.$': 'States.MathAdd($.i, 1)' }, Next: 'Loop' },
          Done: { Type: 'Succeed' },
        },
      }, [1]);
      assert.equal(r.done.status, 'SUCCEEDED', r.done.cause);
      assert.deepEqual(r.output, { i: 3 });
      assert.equal(r.events.filter((e) => e.type === 'MapStateStarted').length, 2, 'one retry of the whole Map');
      assert.equal(r.events.filter((e) => e.type === 'ChoiceStateEntered').length, 4);
      assert.equal(new Set(r.events.map((e) => e.key)).size, r.events.length, 'every event key is distinct');
    });

    test('Wait (SecondsPath, Timestamp), Fail with ErrorPath/CausePath, NoChoiceMatched, States.Runtime', async () => {
      const h = await harness();
      const t0 = Date.now();
      const w = await h.execute({ StartAt: 'W', States: { W: { Type: 'Wait', SecondsPath: '$.s', Next: 'T' }, T: { Type: 'Wait', Timestamp: '2000-01-01T00:00:00Z', End: true } } }, { s: 1 });
      assert.equal(w.done.status, 'SUCCEEDED');
      assert.ok(Date.now() - t0 >= 1000);
      const f = await h.execute({ StartAt: 'F', States: { F: { Type: 'Fail', ErrorPath: '$.e', CausePath: "States.Format('because {}', $.c)" } } }, { e: 'Mine', c: 'x' });
      assert.deepEqual([f.done.status, f.done.error, f.done.cause], ['FAILED', 'Mine', 'because x']);
      const c = await h.execute({ StartAt: 'C', States: { C: { Type: 'Choice', Choices: [{ Variable: '$.x', IsPresent: true, Next: 'S' }] }, S: { Type: 'Succeed' } } });
      assert.equal(c.done.error, 'States.NoChoiceMatched');
      const rt = await h.execute({ StartAt: 'P', States: { P: { Type: 'Pass', InputPath: '$.nope', End: true } } });
      assert.equal(rt.done.error, 'States.Runtime');
      assert.match(rt.done.cause!, /\$\.nope/);
      const forever = await h.execute({ StartAt: 'A', States: { A: { Type: 'Pass', Next: 'B' }, B: { Type: 'Choice', Choices: [{ Variable: '$.x', IsPresent: false, Next: 'A' }], Default: 'A' } } });
      assert.equal(forever.done.error, 'States.Runtime');
      assert.match(forever.done.cause!, /limit of 500 events/);
      const big = await h.execute({ StartAt: 'P', States: { P: { Type: 'Pass', Parameters: { 'a.$': '$.s', 'b.$': '$.s' }, End: true } } }, { s: 'x'.repeat(150 * 1024) });
      assert.equal(big.done.error, 'States.DataLimitExceeded');
    });

    test('SNS publish is recorded with its message; submitJob (no .sync) returns at submit', async () => {
      const h = await harness(new FakeBatch(1_000_000));
      const r = await h.execute({
        StartAt: 'Submit',
        States: {
          Submit: { Type: 'Task', Resource: 'arn:aws:states:::batch:submitJob', Parameters: { JobName: 'async', JobDefinition: 'd', JobQueue: 'q' }, ResultPath: '$.job', Next: 'Notify' },
          Notify: { Type: 'Task', Resource: 'arn:aws:states:::sns:publish', Parameters: { TopicArn: 'arn:aws:sns:us-east-1:1:t', 'Message.$': "States.Format('job {}', $.job.JobId)", Subject: 's' }, End: true },
        },
      });
      assert.equal(r.done.status, 'SUCCEEDED');
      assert.equal(r.output.MessageId, `m-${published.length}`);
      const records = await h.store.states.listPublishes(r.done.executionArn);
      assert.deepEqual(records.map((p) => [p.topicArn, p.message, p.subject]), [['arn:aws:sns:us-east-1:1:t', 'job job-1', 's']]);
    });

    test('time limits: a Task TimeoutSeconds raises States.Timeout (its job terminated); an execution TimeoutSeconds ends it TIMED_OUT', async () => {
      const batch = new FakeBatch(1_000_000);
      const h = await harness(batch);
      const t = await h.execute({
        StartAt: 'T',
        States: {
          T: batchTask('slow', { TimeoutSeconds: 1, Retry: [{ ErrorEquals: ['States.TaskFailed'], MaxAttempts: 3 }], Catch: [{ ErrorEquals: ['States.Timeout'], ResultPath: '$.err', Next: 'After' }], End: true }),
          After: { Type: 'Pass', End: true },
        },
      });
      assert.equal(t.done.status, 'SUCCEEDED', t.done.cause);
      assert.equal(t.output.err.Error, 'States.Timeout', 'States.TaskFailed does not match States.Timeout: no retry');
      assert.deepEqual(batch.terminated, ['job-1']);
      assert.ok(t.events.some((e) => e.type === 'TaskTimedOut'));

      const x = await h.execute({ TimeoutSeconds: 1, StartAt: 'T', States: { T: batchTask('slower', { End: true }) } });
      assert.equal(x.done.status, 'TIMED_OUT');
      assert.equal(x.done.error, 'States.Timeout');
      assert.equal(x.events.at(-1)?.type, 'ExecutionTimedOut');
      assert.deepEqual(batch.terminated, ['job-1', 'job-2']);
    });

    test('StopExecution while a job runs: ABORTED, the job terminated, nothing after ExecutionAborted', async () => {
      const batch = new FakeBatch(1_000_000);
      const h = await harness(batch);
      const sm = await h.service.createStateMachine({ name: 'stoppable', definition: JSON.stringify({ StartAt: 'T', States: { T: batchTask('long', { End: true }) } }), roleArn: 'r' });
      const e = await h.service.startExecution({ stateMachineArn: sm.stateMachineArn });
      await waitFor('the job', async () => batch.jobs.size === 1);
      await h.service.stopExecution({ executionArn: e.executionArn, cause: 'enough' });
      const done = await h.store.states.getExecution(e.executionArn);
      assert.equal(done?.status, 'ABORTED');
      assert.equal(done?.cause, 'enough');
      assert.deepEqual([...new Set(batch.terminated)], ['job-1']);
      const events = await h.store.states.history(e.executionArn, { limit: 100, reverse: false });
      assert.equal(events.at(-1)?.type, 'ExecutionAborted');
      // Stopping again answers with the same stop date and changes nothing.
      assert.equal(await h.service.stopExecution({ executionArn: e.executionArn }), done?.stopDate);
    });

    test('a restart in a Wait waits only what is left; a Retry interval too; the history has no duplicates', async () => {
      const batch = new FakeBatch(0);
      const h = await harness(batch);
      const sm = await h.service.createStateMachine({
        name: 'waity',
        definition: JSON.stringify({
          StartAt: 'W',
          States: {
            W: { Type: 'Wait', Seconds: 2, Next: 'T' },
            T: batchTask('fail-then-caught', { Retry: [{ ErrorEquals: ['States.TaskFailed'], IntervalSeconds: 2, MaxAttempts: 1 }], Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Done' }], End: true }),
            Done: { Type: 'Succeed' },
          },
        }),
        roleArn: 'r',
      });
      const e = await h.service.startExecution({ stateMachineArn: sm.stateMachineArn });
      await waitFor('the Wait to begin', async () => (await h.store.states.getStep(e.executionArn, 'W#1:wait')) !== undefined);
      await h.runner.close(); // "crash" in the Wait
      const deadline = (await h.store.states.getStep(e.executionArn, 'W#1:wait'))!.until!;
      const resumeRunner = () => new ExecutionRunner({ store: h.store.states, batch, publisher, now: Date.now, log: pino({ level: 'silent' }), region: 'us-east-1', pollMs: 2 });
      let runner = resumeRunner();
      assert.equal(await runner.resumeAll(), 1);
      await waitFor('the retry wait to begin', async () => (await h.store.states.getStep(e.executionArn, 'T#1.0:retry')) !== undefined);
      assert.ok(Date.now() >= deadline, 'the Wait ended at its deadline');
      assert.ok(Date.now() < deadline + 1500, 'not 2 s after the restart');
      await runner.close(); // again, in the retry interval
      runner = resumeRunner();
      await runner.resumeAll();
      const done = await waitFor('the end', async () => {
        const x = await h.store.states.getExecution(e.executionArn);
        return x && x.status !== 'RUNNING' ? x : undefined;
      });
      await runner.close();
      assert.equal(done.status, 'SUCCEEDED');
      assert.equal(batch.jobs.size, 2, 'the first attempt and its retry, each submitted once');
      const events = await h.store.states.history(e.executionArn, { limit: 1000, reverse: false });
      assert.deepEqual(events.map((x) => x.id), events.map((_, i) => i + 1));
      assert.equal(events.filter((x) => x.type === 'TaskScheduled').length, 2);
    });

    test('a crash between submit and its record: the job is found by its tag, not submitted again', async () => {
      const batch = new FakeBatch(0);
      const h = await harness(batch);
      const sm = await h.service.createStateMachine({ name: 'crashy', definition: JSON.stringify({ StartAt: 'T', States: { T: batchTask('once', { End: true }) } }), roleArn: 'r' });
      // What a crash leaves: the execution RUNNING, the step SUBMITTING, and the job submitted.
      await h.runner.close();
      const e = await h.service.startExecution({ stateMachineArn: sm.stateMachineArn, name: 'x' });
      const stepKey = 'T#1.0';
      const token = stepToken(e.executionArn, stepKey);
      await h.store.states.putStep(e.executionArn, stepKey, { status: 'SUBMITTING', token });
      await batch.submit({ jobName: 'once', jobQueue: 'q', jobDefinition: 'd', tags: { [STEP_TOKEN_TAG]: token } });
      // The next start resumes it.
      const runner = new ExecutionRunner({ store: h.store.states, batch, publisher, now: Date.now, log: pino({ level: 'silent' }), region: 'us-east-1', pollMs: 2 });
      assert.equal(await runner.resumeAll(), 1);
      const done = await waitFor('the execution to end', async () => {
        const x = await h.store.states.getExecution(e.executionArn);
        return x && x.status !== 'RUNNING' ? x : undefined;
      });
      assert.equal(done.status, 'SUCCEEDED', done.cause);
      assert.equal(batch.jobs.size, 1, 'submitted once');
      await runner.close();
    });
  });
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openbatch-states-'));
let n = 0;
suite('SQLite', () => openStore({ kind: 'sqlite', path: path.join(dir, `s${++n}.db`) }), async () => fs.rmSync(dir, { recursive: true, force: true }));

const pg = await freshPostgresDatabase('states');
if ('skip' in pg) {
  process.stderr.write(`SKIPPING the PostgreSQL states runner suite: ${pg.skip}\n`);
  test('states runner (PostgreSQL)', { skip: pg.skip }, () => {});
} else {
  // pg's Pool.end() resolves before its sockets are closed; dropping the database WITH (FORCE)
  // then would kill connections that are still closing, an uncaught error: wait until none is left.
  const drained = async () => {
    const { default: pgLib } = await import('pg');
    const admin = new pgLib.Client({ connectionString: process.env.OPENBATCH_TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' });
    await admin.connect();
    try {
      const name = new URL(pg.url).pathname.slice(1);
      await waitFor('the test database connections to close', async () => Number((await admin.query('SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1', [name])).rows[0].n) === 0, 10_000);
    } finally {
      await admin.end();
    }
  };
  suite('PostgreSQL', () => openStore({ kind: 'postgres', url: pg.url }), async () => {
    await drained();
    await pg.drop();
  });
}
