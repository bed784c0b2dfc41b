// The seed guide's Terraform (aws_cloudwatch_event_rule + aws_cloudwatch_event_target with an
// input_transformer to an SNS topic) applied with the real Terraform and AWS provider against
// OpenBatch: a failing job's templated message reaches the topic's webhook, a second plan shows
// no changes, destroy removes both. Skipped, saying why, without terraform or the provider
// (a filesystem mirror, as /opt/tf-plugins; OPENBATCH_TEST_TF_PLUGINS to point elsewhere).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RegisterJobDefinitionCommand, SubmitJobCommand } from '@aws-sdk/client-batch';
import { EventBridgeClient, ListRulesCommand } from '@aws-sdk/client-eventbridge';
import { announceSkip, runIn } from '../helpers/aws.js';
import { TestServer, waitForStatus } from '../helpers/server.js';
import { waitForAllDelivered, Webhook } from './events-helpers.js';

const PLUGINS = process.env.OPENBATCH_TEST_TF_PLUGINS ?? '/opt/tf-plugins';
const PROVIDER_VERSION = (() => {
  try {
    return fs.readdirSync(path.join(PLUGINS, 'registry.terraform.io/hashicorp/aws')).sort().pop();
  } catch {
    return undefined;
  }
})();

function skipReason(): string | undefined {
  const tf = spawnSync('terraform', ['version'], { encoding: 'utf8', env: { ...process.env, CHECKPOINT_DISABLE: '1' } });
  if (tf.error || tf.status !== 0) return 'terraform is not installed (https://developer.hashicorp.com/terraform/install)';
  if (!PROVIDER_VERSION) return `no hashicorp/aws provider in a filesystem mirror at ${PLUGINS} (terraform providers mirror ${PLUGINS}, or set OPENBATCH_TEST_TF_PLUGINS)`;
  return undefined;
}

const skip = announceSkip('test/e2e/events-terraform.test.ts', skipReason());

describe('the seed guide\'s Terraform for EventBridge', { skip }, () => {
  let dir: string;
  let server: TestServer;
  let hook: Webhook;
  let env: Record<string, string>;
  const terraform = (...args: string[]) => runIn('terraform', [...args, '-input=false', '-no-color'], env, dir, 180_000);

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openbatch-tf-'));
    hook = await new Webhook().start();
    const notifications = path.join(dir, 'notifications.json');
    fs.writeFileSync(notifications, JSON.stringify({ topics: { 'batch-alerts': { webhooks: [hook.url('/alerts')] } } }));
    server = await new TestServer({ args: ['--notifications-file', notifications] }).start();
    fs.writeFileSync(
      path.join(dir, 'tfrc'),
      `provider_installation {\n  filesystem_mirror {\n    path = ${JSON.stringify(PLUGINS)}\n    include = ["registry.terraform.io/hashicorp/aws"]\n  }\n  direct { exclude = ["registry.terraform.io/hashicorp/aws"] }\n}\n`,
    );
    env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: dir,
      TF_CLI_CONFIG_FILE: path.join(dir, 'tfrc'),
      TF_IN_AUTOMATION: '1',
      CHECKPOINT_DISABLE: '1',
    };
    // The seed's resources; the topic is given by ARN (OpenBatch has no SNS API: the notifications file maps it).
    fs.writeFileSync(
      path.join(dir, 'main.tf'),
      `terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "${PROVIDER_VERSION}" }
  }
}

provider "aws" {
  region                      = "us-east-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  endpoints {
    events = "${server.endpoint}"
  }
}

resource "aws_cloudwatch_event_rule" "batch_failed" {
  name        = "batch-job-failed"
  description = "Notify on any Batch job failure"
  event_pattern = jsonencode({
    source        = ["aws.batch"]
    "detail-type" = ["Batch Job State Change"]
    detail = {
      status = ["FAILED"]
    }
  })
}

resource "aws_cloudwatch_event_target" "batch_failed_sns" {
  rule      = aws_cloudwatch_event_rule.batch_failed.name
  target_id = "BatchFailedToSNS"
  arn       = "arn:aws:sns:us-east-1:123456789012:batch-alerts"
  input_transformer {
    input_paths = {
      jobName = "$.detail.jobName"
      jobId   = "$.detail.jobId"
      status  = "$.detail.status"
      reason  = "$.detail.statusReason"
    }
    input_template = "\\"Batch job <jobName> (<jobId>) <status>: <reason>\\""
  }
}
`,
    );
  });

  after(async () => {
    await server?.stop();
    server?.cleanup();
    await hook?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('apply, a failing job notifies through the topic with the template, plan shows no changes, destroy removes it all', async () => {
    const init = await terraform('init');
    assert.equal(init.code, 0, init.stdout + init.stderr);
    const apply = await terraform('apply', '-auto-approve');
    assert.equal(apply.code, 0, apply.stdout + apply.stderr);
    assert.match(apply.stdout, /Apply complete! Resources: 2 added/);

    const batch = server.client();
    await batch.send(new RegisterJobDefinitionCommand({ jobDefinitionName: 'fails', type: 'container', containerProperties: { image: 'busybox', command: ['false'] } }));
    const jobId = (await batch.send(new SubmitJobCommand({ jobName: 'nightly', jobQueue: 'default', jobDefinition: 'fails' }))).jobId!;
    await waitForStatus(batch, jobId, 'FAILED', 60_000);
    const [got] = await hook.waitFor('/alerts');
    await waitForAllDelivered(server.dataDir);
    assert.equal(hook.at('/alerts').length, 1);
    assert.equal(got.body, `"Batch job nightly (${jobId}) FAILED: Essential container in task exited"`);

    // Terraform reads back exactly what it wrote: nothing to change.
    const plan = await terraform('plan', '-detailed-exitcode');
    assert.equal(plan.code, 0, plan.stdout + plan.stderr);

    const destroy = await terraform('destroy', '-auto-approve');
    assert.equal(destroy.code, 0, destroy.stdout + destroy.stderr);
    const events = new EventBridgeClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
    assert.deepEqual((await events.send(new ListRulesCommand({}))).Rules, []);
  });
});
