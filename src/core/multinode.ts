// Multi-node parallel jobs: node ranges (`targetNodes` such as "0:0", "1:", ":3", "2"), the checks
// AWS makes on nodeProperties (every node covered by exactly one range, mainNode < numNodes), and
// the environment each node sees. Pure.

import { clientError } from './errors.js';
import { resolveJobSpec, type ContainerOverrides, type SubmitOverrides } from './job-spec.js';
import type { ContainerProperties, JobDefinition, JobSpec, Resources } from './types.js';

export interface NodeRange {
  /** First and last node index, inclusive. */
  start: number;
  end: number;
}

export interface NodePropertiesShape {
  numNodes?: number;
  mainNode?: number;
  nodeRangeProperties?: { targetNodes?: string; [field: string]: unknown }[];
  [field: string]: unknown;
}

const TARGET_NODES = /^(?:(\d*):(\d*)|(\d+))$/;

/** A `targetNodes` string as a range for a job of `numNodes` nodes; undefined when malformed or empty. */
export function parseTargetNodes(targetNodes: string, numNodes: number): NodeRange | undefined {
  const m = TARGET_NODES.exec(targetNodes.trim());
  if (!m) return undefined;
  if (m[3] !== undefined) return { start: Number(m[3]), end: Number(m[3]) };
  const start = m[1] === '' ? 0 : Number(m[1]);
  const end = m[2] === '' ? numNodes - 1 : Number(m[2]);
  return start <= end ? { start, end } : undefined;
}

/**
 * Checks nodeProperties as AWS does and returns, for each node index, which nodeRangeProperties
 * entry describes it. Throws a ClientException naming the field at fault.
 */
export function resolveNodeRanges(np: NodePropertiesShape, path = 'nodeProperties'): number[] {
  const numNodes = np.numNodes;
  if (typeof numNodes !== 'number' || !Number.isInteger(numNodes) || numNodes < 1) {
    throw clientError(`${path}.numNodes: required, a whole number of nodes of at least 1 (got ${JSON.stringify(numNodes)})`);
  }
  const mainNode = np.mainNode;
  if (typeof mainNode !== 'number' || !Number.isInteger(mainNode) || mainNode < 0 || mainNode >= numNodes) {
    throw clientError(`${path}.mainNode: must be a node index below numNodes (${numNodes}), 0 to ${numNodes - 1} (got ${JSON.stringify(mainNode)})`);
  }
  const ranges = np.nodeRangeProperties ?? [];
  if (ranges.length === 0) throw clientError(`${path}.nodeRangeProperties: required, at least one node range`);
  const owner: (number | undefined)[] = new Array(numNodes).fill(undefined);
  ranges.forEach((r, i) => {
    const p = `${path}.nodeRangeProperties[${i}].targetNodes`;
    if (typeof r?.targetNodes !== 'string') throw clientError(`${p}: required, a node range such as "0:3", "1:" or "0"`);
    const range = parseTargetNodes(r.targetNodes, numNodes);
    if (!range) throw clientError(`${p}: "${r.targetNodes}" is not a valid node range; use a node index range such as "0:3", "1:" or "0"`);
    if (range.end >= numNodes) {
      throw clientError(`${p}: "${r.targetNodes}" names node ${range.end}, but the job has ${numNodes} nodes (indices 0 to ${numNodes - 1})`);
    }
    for (let n = range.start; n <= range.end; n++) {
      const prior = owner[n];
      if (prior !== undefined) {
        throw clientError(`${p}: "${r.targetNodes}" overlaps nodeRangeProperties[${prior}] ("${ranges[prior].targetNodes}") at node ${n}; each node must be in exactly one range`);
      }
      owner[n] = i;
    }
  });
  const missing = owner.flatMap((o, n) => (o === undefined ? [n] : []));
  if (missing.length > 0) {
    const shown = missing.slice(0, 5).join(', ') + (missing.length > 5 ? `, and ${missing.length - 5} more` : '');
    throw clientError(`${path}.nodeRangeProperties: node${missing.length === 1 ? '' : 's'} ${shown} of ${numNodes} ${missing.length === 1 ? 'is' : 'are'} in no range; the ranges must cover every node exactly once`);
  }
  return owner as number[];
}

/** The id of node `index` of a multi-node parallel job. */
export function nodeJobId(parentId: string, index: number): string {
  return `${parentId}#${index}`;
}

/** The AWS_BATCH_JOB_* variables of one node; the main node's address is only given to the others. */
export function nodeEnvironment(index: number, numNodes: number, mainNode: number, mainAddress: string): Record<string, string> {
  const env: Record<string, string> = {
    AWS_BATCH_JOB_NODE_INDEX: String(index),
    AWS_BATCH_JOB_NUM_NODES: String(numNodes),
    AWS_BATCH_JOB_MAIN_NODE_INDEX: String(mainNode),
  };
  if (index !== mainNode) env.AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS = mainAddress;
  return env;
}

export interface NodeOverrides {
  numNodes?: number;
  nodePropertyOverrides?: { targetNodes?: string; containerOverrides?: ContainerOverrides }[];
}

/**
 * A multi-node job definition with SubmitJob's overrides: the parent's spec (the main node's
 * container, the resources of all nodes together, nodeProperties as resolved) and each node's
 * own spec. Nodes never retry on their own; the job's retry strategy stays on the parent.
 */
export function resolveMultiNodeSpecs(def: JobDefinition, submit: SubmitOverrides & { nodeOverrides?: NodeOverrides }): { parent: JobSpec; nodes: JobSpec[] } {
  const given = (def.nodeProperties ?? {}) as NodePropertiesShape;
  const numNodes = submit.nodeOverrides?.numNodes ?? given.numNodes;
  const np: NodePropertiesShape = { ...given, numNodes };
  const owner = resolveNodeRanges(np, submit.nodeOverrides?.numNodes !== undefined ? 'nodeOverrides.numNodes with nodeProperties' : 'nodeProperties');
  const n = numNodes as number;
  const mainNode = np.mainNode as number;
  const overrides = submit.nodeOverrides?.nodePropertyOverrides ?? [];
  const nodes: JobSpec[] = [];
  for (let i = 0; i < n; i++) {
    const range = np.nodeRangeProperties![owner[i]] as { container?: ContainerProperties };
    if (!range.container) throw clientError(`nodeProperties.nodeRangeProperties[${owner[i]}].container: required to run node ${i}`);
    let containerOverrides: ContainerOverrides | undefined;
    overrides.forEach((o, k) => {
      const r = parseTargetNodes(o.targetNodes ?? '', n);
      if (!r) throw clientError(`nodeOverrides.nodePropertyOverrides[${k}].targetNodes: "${o.targetNodes}" is not a valid node range for ${n} nodes`);
      if (i >= r.start && i <= r.end) containerOverrides = { ...containerOverrides, ...o.containerOverrides };
    });
    const nodeDef: JobDefinition = { ...def, type: 'container', containerProperties: range.container };
    const spec = resolveJobSpec(nodeDef, { ...submit, containerOverrides, retryStrategy: undefined });
    delete spec.retryStrategy;
    spec.nodeProperties = { numNodes: n, mainNode };
    nodes.push(spec);
  }
  const main = nodes[mainNode];
  const resources: Resources = { vcpus: 0, memory: 0, gpus: 0 };
  for (const s of nodes) {
    resources.vcpus += s.resources.vcpus;
    resources.memory += s.resources.memory;
    resources.gpus += s.resources.gpus;
  }
  const parent: JobSpec = { ...main, resources, nodeProperties: { numNodes: n, mainNode, nodeRangeProperties: np.nodeRangeProperties } };
  const retryStrategy = submit.retryStrategy ?? def.retryStrategy;
  if (retryStrategy) parent.retryStrategy = retryStrategy;
  return { parent, nodes };
}
