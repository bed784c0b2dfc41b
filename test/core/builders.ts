// Fluent builders for scheduler snapshots, so that test cases read like the situation they describe:
//   snapshot(queue('q').priority(10).ces('a').jobs(job('j1').vcpus(4)), ce('a').capacity(8, 4096))
//   snapshot(queue('fs').ces('a').fairShare({ computeReservation: 50 }).shares(share('A').weight(0.5).jobs(job('a1'))), ce('a'))

import type { ResourceState, ResourceStatus, Resources } from '../../src/core/types.js';
import type {
  ComputeEnvironmentSnapshot,
  QueueSnapshot,
  RunnableJob,
  SchedulerSnapshot,
  ShareSnapshot,
} from '../../src/core/scheduler.js';

export class JobBuilder {
  private readonly resources: Resources = { vcpus: 1, memory: 1024, gpus: 0 };
  private seqValue?: number;
  private reasonValue?: string;
  private priorityValue?: number;

  constructor(private readonly id: string) {}

  vcpus(n: number): this {
    this.resources.vcpus = n;
    return this;
  }
  memory(mib: number): this {
    this.resources.memory = mib;
    return this;
  }
  gpus(n: number): this {
    this.resources.gpus = n;
    return this;
  }
  seq(n: number): this {
    this.seqValue = n;
    return this;
  }
  /** The statusReason currently stored on the job. */
  reason(r: string): this {
    this.reasonValue = r;
    return this;
  }
  /** schedulingPriority (fair-share queues: higher first within its share). */
  priority(n: number): this {
    this.priorityValue = n;
    return this;
  }

  /** `defaultSeq` is used when no seq was given: the job's position in its queue. */
  build(defaultSeq: number): RunnableJob {
    const j: RunnableJob = { jobId: this.id, seq: this.seqValue ?? defaultSeq, resources: { ...this.resources } };
    if (this.reasonValue !== undefined) j.statusReason = this.reasonValue;
    if (this.priorityValue !== undefined) j.schedulingPriority = this.priorityValue;
    return j;
  }
}

/** A RUNNABLE job asking for 1 vCPU, 1024 MiB and no GPU unless told otherwise. */
export function job(id: string): JobBuilder {
  return new JobBuilder(id);
}

export class CeBuilder {
  private stateValue: ResourceState = 'ENABLED';
  private statusValue: ResourceStatus = 'VALID';
  private cap: Resources = { vcpus: 4, memory: 8192, gpus: 0 };
  private usedValue: Resources = { vcpus: 0, memory: 0, gpus: 0 };

  constructor(private readonly name: string) {}

  capacity(vcpus: number, memory: number, gpus = 0): this {
    this.cap = { vcpus, memory, gpus };
    return this;
  }
  used(vcpus: number, memory: number, gpus = 0): this {
    this.usedValue = { vcpus, memory, gpus };
    return this;
  }
  state(s: ResourceState): this {
    this.stateValue = s;
    return this;
  }
  status(s: ResourceStatus): this {
    this.statusValue = s;
    return this;
  }
  disabled(): this {
    return this.state('DISABLED');
  }
  invalid(): this {
    return this.status('INVALID');
  }

  build(): ComputeEnvironmentSnapshot {
    return {
      name: this.name,
      state: this.stateValue,
      status: this.statusValue,
      capacity: { ...this.cap },
      used: { ...this.usedValue },
    };
  }
}

/** An ENABLED, VALID compute environment with 4 vCPUs, 8192 MiB, no GPU and nothing running unless told otherwise. */
export function ce(name: string): CeBuilder {
  return new CeBuilder(name);
}

export class ShareBuilder {
  private weightValue = 1;
  private runningValue = 0;
  private recentValue = 0;
  private jobList: JobBuilder[] = [];

  constructor(private readonly id: string) {}

  weight(w: number): this {
    this.weightValue = w;
    return this;
  }
  /** vCPUs its jobs hold now. */
  running(vcpus: number): this {
    this.runningValue = vcpus;
    return this;
  }
  /** Its recent usage in vCPUs. */
  recent(vcpus: number): this {
    this.recentValue = vcpus;
    return this;
  }
  jobs(...jobs: JobBuilder[]): this {
    this.jobList.push(...jobs);
    return this;
  }

  build(): ShareSnapshot {
    return {
      shareIdentifier: this.id,
      weightFactor: this.weightValue,
      runningVcpus: this.runningValue,
      recentVcpus: this.recentValue,
      runnable: this.jobList.map((j, i) => j.build(i + 1)),
    };
  }
}

/** A share of weight 1 without usage or jobs unless told otherwise. */
export function share(id: string): ShareBuilder {
  return new ShareBuilder(id);
}

export class QueueBuilder {
  private priorityValue = 1;
  private stateValue: ResourceState = 'ENABLED';
  private ceNames: string[] = [];
  private jobList: JobBuilder[] = [];
  private fairShareValue?: { computeReservation: number; activeShares?: number };
  private shareList: ShareBuilder[] = [];

  constructor(private readonly name: string) {}

  priority(n: number): this {
    this.priorityValue = n;
    return this;
  }
  /** Compute environment names in ascending order. */
  ces(...names: string[]): this {
    this.ceNames = names;
    return this;
  }
  jobs(...jobs: JobBuilder[]): this {
    this.jobList.push(...jobs);
    return this;
  }
  disabled(): this {
    this.stateValue = 'DISABLED';
    return this;
  }
  /** Makes it a fair-share queue; activeShares defaults to the number of shares given. */
  fairShare(opts: { computeReservation?: number; activeShares?: number } = {}): this {
    this.fairShareValue = { computeReservation: opts.computeReservation ?? 0, activeShares: opts.activeShares };
    return this;
  }
  /** The shares of a fair-share queue (implies fairShare()). */
  shares(...shares: ShareBuilder[]): this {
    this.fairShareValue ??= { computeReservation: 0 };
    this.shareList.push(...shares);
    return this;
  }

  build(): QueueSnapshot {
    const q: QueueSnapshot = {
      name: this.name,
      priority: this.priorityValue,
      state: this.stateValue,
      computeEnvironments: [...this.ceNames],
      runnable: this.jobList.map((j, i) => j.build(i + 1)),
    };
    if (this.fairShareValue) {
      q.fairShare = {
        computeReservation: this.fairShareValue.computeReservation,
        activeShares: this.fairShareValue.activeShares ?? this.shareList.length,
        shares: this.shareList.map((s) => s.build()),
      };
    }
    return q;
  }
}

/** An ENABLED queue of priority 1 without compute environments or jobs unless told otherwise. */
export function queue(name: string): QueueBuilder {
  return new QueueBuilder(name);
}

/** A snapshot from queues and compute environments, in any mix and in the order given. */
export function snapshot(...parts: Array<QueueBuilder | CeBuilder>): SchedulerSnapshot {
  return {
    now: 0,
    queues: parts.filter((p): p is QueueBuilder => p instanceof QueueBuilder).map((q) => q.build()),
    computeEnvironments: parts.filter((p): p is CeBuilder => p instanceof CeBuilder).map((c) => c.build()),
  };
}
