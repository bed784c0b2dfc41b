// The SQL store's metadata queries: compute environments, job queues, job definitions, scheduling
// policies and their tags. Each resource is a JSON document (without its tags) in its own table,
// the tags are rows of `tags`; loads are whole tables, read at start and after changes, never on a
// per-job path.

import type { ComputeEnvironment, JobDefinition, JobQueue, SchedulingPolicy, Tags } from '../../core/types.js';
import { all, chunks, run, type SqlContext } from './context.js';
import { docWithoutTags } from './rows.js';

export async function loadComputeEnvironments(c: SqlContext): Promise<ComputeEnvironment[]> {
  const rows = await all<{ arn: string; doc: string }>(
    c,
    c.qb.selectFrom('compute_environments').select(['arn', 'doc']).orderBy('created_at').orderBy('name'),
  );
  const tags = await getTagsMany(c, rows.map((r) => r.arn));
  return rows.map((r) => ({ ...JSON.parse(r.doc), tags: tags.get(r.arn) ?? {} }));
}

export async function loadJobQueues(c: SqlContext): Promise<JobQueue[]> {
  const rows = await all<{ arn: string; doc: string }>(
    c,
    c.qb.selectFrom('job_queues').select(['arn', 'doc']).orderBy('created_at').orderBy('name'),
  );
  const tags = await getTagsMany(c, rows.map((r) => r.arn));
  return rows.map((r) => ({ ...JSON.parse(r.doc), tags: tags.get(r.arn) ?? {} }));
}

export async function loadJobDefinitions(c: SqlContext): Promise<JobDefinition[]> {
  const rows = await all<{ arn: string; doc: string }>(
    c,
    c.qb.selectFrom('job_definitions').select(['arn', 'doc']).orderBy('name').orderBy('revision'),
  );
  const tags = await getTagsMany(c, rows.map((r) => r.arn));
  return rows.map((r) => ({ ...JSON.parse(r.doc), tags: tags.get(r.arn) ?? {} }));
}

export async function getTags(c: SqlContext, resourceArn: string): Promise<Tags> {
  return (await getTagsMany(c, [resourceArn])).get(resourceArn) ?? {};
}

export async function getTagsMany(c: SqlContext, resourceArns: readonly string[]): Promise<Map<string, Tags>> {
  const out = new Map<string, Tags>();
  for (const part of chunks([...new Set(resourceArns)])) {
    if (part.length === 0) continue;
    const rows = await all<{ resource_arn: string; key: string; value: string }>(
      c,
      c.qb.selectFrom('tags').selectAll().where('resource_arn', 'in', part).orderBy('resource_arn').orderBy('key'),
    );
    for (const r of rows) {
      let t = out.get(r.resource_arn);
      if (!t) out.set(r.resource_arn, (t = {}));
      // A key may be "__proto__": define it, never assign it (assignment would set the prototype).
      Object.defineProperty(t, r.key, { value: r.value, enumerable: true, writable: true, configurable: true });
    }
  }
  return out;
}

export async function insertComputeEnvironment(c: SqlContext, ce: ComputeEnvironment): Promise<void> {
  await run(
    c,
    c.qb.insertInto('compute_environments').values({
      name: ce.computeEnvironmentName,
      arn: ce.computeEnvironmentArn,
      created_at: ce.createdAt,
      doc: docWithoutTags(ce),
    }),
  );
  await putTags(c, ce.computeEnvironmentArn, ce.tags);
}

export async function updateComputeEnvironment(c: SqlContext, ce: ComputeEnvironment): Promise<void> {
  await run(
    c,
    c.qb
      .updateTable('compute_environments')
      .set({ doc: docWithoutTags(ce) })
      .where('name', '=', ce.computeEnvironmentName),
  );
}

export async function deleteComputeEnvironment(c: SqlContext, name: string): Promise<void> {
  await run(c, c.qb.deleteFrom('compute_environments').where('name', '=', name));
}

export async function insertJobQueue(c: SqlContext, q: JobQueue): Promise<void> {
  await run(
    c,
    c.qb
      .insertInto('job_queues')
      .values({ name: q.jobQueueName, arn: q.jobQueueArn, created_at: q.createdAt, doc: docWithoutTags(q) }),
  );
  await putTags(c, q.jobQueueArn, q.tags);
}

export async function updateJobQueue(c: SqlContext, q: JobQueue): Promise<void> {
  await run(c, c.qb.updateTable('job_queues').set({ doc: docWithoutTags(q) }).where('name', '=', q.jobQueueName));
}

export async function deleteJobQueue(c: SqlContext, name: string): Promise<void> {
  await run(c, c.qb.deleteFrom('job_queues').where('name', '=', name));
}

export async function insertJobDefinition(c: SqlContext, def: JobDefinition): Promise<void> {
  await run(
    c,
    c.qb.insertInto('job_definitions').values({
      arn: def.jobDefinitionArn,
      name: def.jobDefinitionName,
      revision: def.revision,
      status: def.status,
      created_at: def.createdAt,
      doc: docWithoutTags(def),
    }),
  );
  await putTags(c, def.jobDefinitionArn, def.tags);
}

export async function updateJobDefinition(c: SqlContext, def: JobDefinition): Promise<void> {
  await run(
    c,
    c.qb
      .updateTable('job_definitions')
      .set({ status: def.status, doc: docWithoutTags(def) })
      .where('arn', '=', def.jobDefinitionArn),
  );
}

export async function putTags(c: SqlContext, resourceArn: string, tags: Tags): Promise<void> {
  const entries = Object.entries(tags);
  if (entries.length === 0) return;
  await run(
    c,
    c.qb
      .insertInto('tags')
      .values(entries.map(([key, value]) => ({ resource_arn: resourceArn, key, value })))
      .onConflict((oc) => oc.columns(['resource_arn', 'key']).doUpdateSet({ value: (eb) => eb.ref('excluded.value') })),
  );
}

export async function deleteTags(c: SqlContext, resourceArn: string, keys: readonly string[]): Promise<void> {
  if (keys.length === 0) return;
  await run(c, c.qb.deleteFrom('tags').where('resource_arn', '=', resourceArn).where('key', 'in', [...keys]));
}

export async function deleteAllTags(c: SqlContext, resourceArn: string): Promise<void> {
  await run(c, c.qb.deleteFrom('tags').where('resource_arn', '=', resourceArn));
}

// ----- scheduling policies

export async function loadSchedulingPolicies(c: SqlContext): Promise<SchedulingPolicy[]> {
  const rows = await all<{ arn: string; doc: string }>(
    c,
    c.qb.selectFrom('scheduling_policies').select(['arn', 'doc']).orderBy('created_at').orderBy('name'),
  );
  const tags = await getTagsMany(c, rows.map((r) => r.arn));
  return rows.map((r) => ({ ...JSON.parse(r.doc), tags: tags.get(r.arn) ?? {} }));
}

export async function insertSchedulingPolicy(c: SqlContext, policy: SchedulingPolicy): Promise<void> {
  await run(
    c,
    c.qb
      .insertInto('scheduling_policies')
      .values({ name: policy.name, arn: policy.arn, created_at: policy.createdAt, doc: docWithoutTags(policy) }),
  );
  await putTags(c, policy.arn, policy.tags);
}

export async function updateSchedulingPolicy(c: SqlContext, policy: SchedulingPolicy): Promise<void> {
  await run(c, c.qb.updateTable('scheduling_policies').set({ doc: docWithoutTags(policy) }).where('name', '=', policy.name));
}

export async function deleteSchedulingPolicy(c: SqlContext, name: string): Promise<void> {
  await run(c, c.qb.deleteFrom('scheduling_policies').where('name', '=', name));
}
