// The real AWS CLI v2 (/usr/bin/aws) reads a finished job's output through the CloudWatch Logs
// API: `aws logs get-log-events --log-group-name /aws/batch/job --log-stream-name <from
// describe-jobs>`, from the head and from the tail, paging with --limit and --next-token in both
// directions, and the end of the stream given by the forward token coming back unchanged.
// Skipped, loudly, where /usr/bin/aws is not an AWS CLI v2 (apt-get install -y awscli).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TestServer } from '../helpers/server.js';
import { AWS_CLI, AwsCli, announceSkip, awsCliSkipReason, runIn } from '../helpers/aws.js';

const skip = announceSkip('test/e2e/logs-aws-cli.test.ts', awsCliSkipReason());

interface Page {
  events: { timestamp: number; message: string; ingestionTime: number }[];
  nextForwardToken: string;
  nextBackwardToken: string;
}

describe('AWS CLI v2: aws logs get-log-events', { skip }, () => {
  let server: TestServer;
  let aws: AwsCli;
  let stream = '';
  let job: any;

  const logs = async (...args: string[]) => {
    const r = await runIn(AWS_CLI, ['logs', ...args, '--endpoint-url', server.endpoint], aws.env(), aws.cwd);
    return r;
  };
  const page = async (...args: string[]): Promise<Page> => {
    const r = await logs('get-log-events', '--log-group-name', '/aws/batch/job', '--log-stream-name', stream, ...args);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as Page;
  };
  const numbers = (p: Page) => p.events.map((e) => Number(/^line (\d+)$/.exec(e.message)?.[1]));
  const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

  before(async () => {
    server = await new TestServer().start();
    aws = new AwsCli(server.endpoint);
    await aws.ok(
      'register-job-definition', '--job-definition-name', 'lines', '--type', 'container',
      '--container-properties', JSON.stringify({ image: 'busybox', command: ['sh', '-c', 'i=1; while [ $i -le 25 ]; do echo "line $i"; i=$((i+1)); done'] }),
    );
    const submitted = await aws.ok('submit-job', '--job-name', 'lines', '--job-queue', 'default', '--job-definition', 'lines');
    job = await aws.waitForStatus(submitted.jobId, 'SUCCEEDED');
    stream = job.container.logStreamName;
    assert.match(stream, /^lines\/default\/[0-9a-f-]+$/);
  });

  after(async () => {
    await server?.stop();
    server?.cleanup();
    aws?.cleanup();
  });

  test('the whole output in order, each event timestamped within the attempt', async () => {
    const all = await page('--start-from-head');
    assert.deepEqual(numbers(all), range(1, 25));
    const attempt = job.attempts[0];
    for (const e of all.events) {
      assert.ok(e.timestamp >= attempt.startedAt && e.timestamp <= attempt.stoppedAt, `${e.timestamp} not in ${attempt.startedAt}..${attempt.stoppedAt}`);
      assert.ok(e.ingestionTime >= e.timestamp);
    }
    // Without --start-from-head: the tail (all 25 fit in one page).
    assert.deepEqual(numbers(await page()), range(1, 25));
  });

  test('forward pages with --limit and --next-token, then the end: the same forward token back', async () => {
    const seen: number[] = [];
    let p = await page('--start-from-head', '--limit', '10');
    assert.deepEqual(numbers(p), range(1, 10));
    seen.push(...numbers(p));
    for (let i = 0; i < 10; i++) {
      const next = await page('--start-from-head', '--limit', '10', '--next-token', p.nextForwardToken);
      if (next.events.length === 0) {
        assert.equal(next.nextForwardToken, p.nextForwardToken, 'at the end the token passed in comes back');
        break;
      }
      seen.push(...numbers(next));
      p = next;
    }
    assert.deepEqual(seen, range(1, 25));
    // Back from the last forward page's backward token: the ten before it.
    const back = await page('--limit', '10', '--next-token', p.nextBackwardToken);
    assert.deepEqual(numbers(back), range(11, 20));
  });

  test('backward pages from the tail down to the start, and forward again from a backward page', async () => {
    let p = await page('--limit', '10');
    assert.deepEqual(numbers(p), range(16, 25));
    const pages = [numbers(p)];
    for (let i = 0; i < 10; i++) {
      const prev = await page('--limit', '10', '--next-token', p.nextBackwardToken);
      if (prev.events.length === 0) {
        assert.equal(prev.nextBackwardToken, p.nextBackwardToken, 'at the start the backward token stays');
        break;
      }
      pages.unshift(numbers(prev));
      p = prev;
    }
    assert.deepEqual(pages, [range(1, 5), range(6, 15), range(16, 25)]);
    const fwd = await page('--start-from-head', '--limit', '10', '--next-token', p.nextForwardToken);
    assert.deepEqual(numbers(fwd), range(6, 15));
  });

  test('errors as CloudWatch Logs answers them', async () => {
    const noStream = await logs('get-log-events', '--log-group-name', '/aws/batch/job', '--log-stream-name', 'nope/default/x');
    assert.notEqual(noStream.code, 0);
    assert.match(noStream.stderr, /ResourceNotFoundException.*The specified log stream does not exist\./);
    const noGroup = await logs('get-log-events', '--log-group-name', '/no/such/group', '--log-stream-name', stream);
    assert.match(noGroup.stderr, /ResourceNotFoundException.*The specified log group does not exist\./);
    const badLimit = await logs('get-log-events', '--log-group-name', '/aws/batch/job', '--log-stream-name', stream, '--limit', '10001');
    assert.match(badLimit.stderr, /InvalidParameterException.*'limit'/);
  });

  test('describe-log-streams and filter-log-events', async () => {
    const r = await logs('describe-log-streams', '--log-group-name', '/aws/batch/job');
    assert.equal(r.code, 0, r.stderr);
    const streams = JSON.parse(r.stdout).logStreams;
    assert.deepEqual(streams.map((s: any) => s.logStreamName), [stream]);
    const f = await logs('filter-log-events', '--log-group-name', '/aws/batch/job', '--filter-pattern', '?"line 7" ?"line 17"');
    assert.equal(f.code, 0, f.stderr);
    assert.deepEqual(JSON.parse(f.stdout).events.map((e: any) => e.message), ['line 7', 'line 17']);
  });

  test('aws logs tail prints the group\'s events (FilterLogEvents under the hood)', async () => {
    const r = await logs('tail', '/aws/batch/job', '--since', '1d', '--format', 'short');
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => l.replace(/^\S+\s+/, ''));
    assert.deepEqual(lines, range(1, 25).map((i) => `line ${i}`));
  });
});
