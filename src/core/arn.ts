// ARNs in AWS Batch's formats. The region and account are configuration (defaults us-east-1 and
// 000000000000), so ARNs are built through one `Arns` object made at startup.

export interface ArnContext {
  partition: string;
  region: string;
  accountId: string;
}

export type ArnResource = 'compute-environment' | 'job-queue' | 'job-definition' | 'job' | 'scheduling-policy';

export interface ParsedArn {
  partition: string;
  service: string;
  region: string;
  accountId: string;
  resourceType: string;
  resource: string;
}

const ARN_RE = /^arn:([a-z-]+):([a-z0-9-]+):([a-z0-9-]*):(\d*):([a-z-]+)\/(.+)$/;

export function parseArn(arn: string): ParsedArn | undefined {
  const m = ARN_RE.exec(arn);
  if (!m) return undefined;
  return { partition: m[1], service: m[2], region: m[3], accountId: m[4], resourceType: m[5], resource: m[6] };
}

export class Arns {
  constructor(readonly ctx: ArnContext) {}

  private make(type: ArnResource, resource: string): string {
    return `arn:${this.ctx.partition}:batch:${this.ctx.region}:${this.ctx.accountId}:${type}/${resource}`;
  }

  computeEnvironment(name: string): string {
    return this.make('compute-environment', name);
  }
  jobQueue(name: string): string {
    return this.make('job-queue', name);
  }
  jobDefinition(name: string, revision: number): string {
    return this.make('job-definition', `${name}:${revision}`);
  }
  job(jobId: string): string {
    return this.make('job', jobId);
  }
  schedulingPolicy(name: string): string {
    return this.make('scheduling-policy', name);
  }
  /** The ECS cluster AWS would put behind a compute environment; reported for fidelity. */
  ecsCluster(ceName: string, uuid: string): string {
    return `arn:${this.ctx.partition}:ecs:${this.ctx.region}:${this.ctx.accountId}:cluster/${ceName}_Batch_${uuid}`;
  }
  ecsTask(ceName: string, uuid: string, taskId: string): string {
    return `arn:${this.ctx.partition}:ecs:${this.ctx.region}:${this.ctx.accountId}:task/${ceName}_Batch_${uuid}/${taskId}`;
  }
  ecsContainerInstance(ceName: string, uuid: string, instanceId: string): string {
    return `arn:${this.ctx.partition}:ecs:${this.ctx.region}:${this.ctx.accountId}:container-instance/${ceName}_Batch_${uuid}/${instanceId}`;
  }

  /**
   * The name inside a Batch ARN of the given type, or undefined if `value` is not such an ARN.
   * Accepts ARNs of any region/account: clients copy ARNs between environments.
   */
  nameFromArn(value: string, type: ArnResource): string | undefined {
    const p = parseArn(value);
    if (!p || p.service !== 'batch' || p.resourceType !== type) return undefined;
    return p.resource;
  }
}
