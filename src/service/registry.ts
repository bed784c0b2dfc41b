// The in-memory view of the metadata (compute environments, job queues, job definitions,
// scheduling policies), loaded from the store at start and updated after each committed change.
// It is small (AWS caps queues and compute environments at 50 each), and the scheduler and
// SubmitJob read it on every call.

import type { Arns } from '../core/arn.js';
import type { ComputeEnvironment, JobDefinition, JobQueue, SchedulingPolicy } from '../core/types.js';
import type { StoreReader } from '../store/store.js';

export class Registry {
  readonly computeEnvironments = new Map<string, ComputeEnvironment>();
  readonly jobQueues = new Map<string, JobQueue>();
  /** Revisions by name, ascending. */
  private readonly definitionsByName = new Map<string, JobDefinition[]>();
  private readonly definitionsByArn = new Map<string, JobDefinition>();
  /** By name, in creation order (ListSchedulingPolicies pages through them in this order). */
  readonly schedulingPolicies = new Map<string, SchedulingPolicy>();

  constructor(private readonly arns: Arns) {}

  async load(store: StoreReader): Promise<void> {
    this.computeEnvironments.clear();
    this.jobQueues.clear();
    this.definitionsByName.clear();
    this.definitionsByArn.clear();
    this.schedulingPolicies.clear();
    for (const ce of await store.loadComputeEnvironments()) this.computeEnvironments.set(ce.computeEnvironmentName, ce);
    for (const q of await store.loadJobQueues()) this.jobQueues.set(q.jobQueueName, q);
    for (const d of await store.loadJobDefinitions()) this.putJobDefinition(d);
    for (const p of await store.loadSchedulingPolicies()) this.schedulingPolicies.set(p.name, p);
  }

  // ----- compute environments

  /** By name or ARN. */
  findComputeEnvironment(nameOrArn: string): ComputeEnvironment | undefined {
    const name = this.arns.nameFromArn(nameOrArn, 'compute-environment') ?? nameOrArn;
    return this.computeEnvironments.get(name);
  }

  putComputeEnvironment(ce: ComputeEnvironment): void {
    this.computeEnvironments.set(ce.computeEnvironmentName, ce);
  }

  deleteComputeEnvironment(name: string): void {
    this.computeEnvironments.delete(name);
  }

  // ----- job queues

  findJobQueue(nameOrArn: string): JobQueue | undefined {
    const name = this.arns.nameFromArn(nameOrArn, 'job-queue') ?? nameOrArn;
    return this.jobQueues.get(name);
  }

  putJobQueue(q: JobQueue): void {
    this.jobQueues.set(q.jobQueueName, q);
  }

  deleteJobQueue(name: string): void {
    this.jobQueues.delete(name);
  }

  /** Queues whose computeEnvironmentOrder names this compute environment. */
  queuesUsing(ce: ComputeEnvironment): JobQueue[] {
    return [...this.jobQueues.values()].filter((q) =>
      q.computeEnvironmentOrder.some((o) => o.computeEnvironment === ce.computeEnvironmentArn),
    );
  }

  /** The queue's compute environments in ascending `order`. */
  queueComputeEnvironments(q: JobQueue): ComputeEnvironment[] {
    return [...q.computeEnvironmentOrder]
      .sort((a, b) => a.order - b.order)
      .map((o) => this.findComputeEnvironment(o.computeEnvironment))
      .filter((ce): ce is ComputeEnvironment => ce !== undefined);
  }

  // ----- job definitions

  putJobDefinition(def: JobDefinition): void {
    const list = this.definitionsByName.get(def.jobDefinitionName) ?? [];
    const i = list.findIndex((d) => d.revision === def.revision);
    if (i >= 0) list[i] = def;
    else {
      list.push(def);
      list.sort((a, b) => a.revision - b.revision);
    }
    this.definitionsByName.set(def.jobDefinitionName, list);
    this.definitionsByArn.set(def.jobDefinitionArn, def);
  }

  jobDefinitionRevisions(name: string): readonly JobDefinition[] {
    return this.definitionsByName.get(name) ?? [];
  }

  allJobDefinitions(): JobDefinition[] {
    return [...this.definitionsByName.keys()].sort().flatMap((n) => this.definitionsByName.get(n)!);
  }

  nextRevision(name: string): number {
    const list = this.definitionsByName.get(name);
    return list && list.length > 0 ? list[list.length - 1].revision + 1 : 1;
  }

  /**
   * `name`, `name:revision`, or an ARN with or without the revision (AWS accepts all four).
   * Without a revision: the latest ACTIVE one. Returns undefined if there is no such definition.
   */
  findJobDefinition(ref: string, opts: { activeOnly: boolean }): JobDefinition | undefined {
    const tail = this.arns.nameFromArn(ref, 'job-definition') ?? ref;
    const m = /^([^:]+)(?::(\d+))?$/.exec(tail);
    if (!m) return undefined;
    const list = this.definitionsByName.get(m[1]) ?? [];
    if (m[2] !== undefined) {
      const def = list.find((d) => d.revision === Number(m[2]));
      if (!def || (opts.activeOnly && def.status !== 'ACTIVE')) return undefined;
      return def;
    }
    for (let i = list.length - 1; i >= 0; i--) if (list[i].status === 'ACTIVE') return list[i];
    return undefined;
  }

  findJobDefinitionByArn(arn: string): JobDefinition | undefined {
    return this.definitionsByArn.get(arn);
  }

  // ----- scheduling policies

  /** By ARN (of any region and account, as for the other resources); a bare name is not an ARN. */
  findSchedulingPolicy(arn: string): SchedulingPolicy | undefined {
    const name = this.arns.nameFromArn(arn, 'scheduling-policy');
    return name === undefined ? undefined : this.schedulingPolicies.get(name);
  }

  putSchedulingPolicy(policy: SchedulingPolicy): void {
    this.schedulingPolicies.set(policy.name, policy);
  }

  deleteSchedulingPolicy(name: string): void {
    this.schedulingPolicies.delete(name);
  }

  /** Queues whose schedulingPolicyArn is this policy. */
  queuesUsingPolicy(policy: SchedulingPolicy): JobQueue[] {
    return [...this.jobQueues.values()].filter((q) => q.schedulingPolicyArn === policy.arn);
  }
}
