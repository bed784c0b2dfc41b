// Multi-node parallel jobs: node ranges and AWS's checks on nodeProperties, table-driven.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { nodeEnvironment, nodeJobId, parseTargetNodes, resolveNodeRanges, type NodePropertiesShape } from '../../src/core/multinode.js';
import { BatchError } from '../../src/core/errors.js';

describe('parseTargetNodes', () => {
  const cases: [string, number, { start: number; end: number } | undefined][] = [
    ['0:0', 3, { start: 0, end: 0 }],
    ['1:', 3, { start: 1, end: 2 }],
    [':1', 3, { start: 0, end: 1 }],
    [':', 3, { start: 0, end: 2 }],
    ['2', 3, { start: 2, end: 2 }],
    ['0:3', 4, { start: 0, end: 3 }],
    ['3:1', 4, undefined],
    ['a:b', 4, undefined],
    ['', 4, undefined],
  ];
  for (const [s, n, want] of cases) test(`${JSON.stringify(s)} of ${n} nodes`, () => assert.deepEqual(parseTargetNodes(s, n), want));
});

describe('resolveNodeRanges', () => {
  const np = (numNodes: unknown, mainNode: unknown, ...targets: string[]): NodePropertiesShape =>
    ({ numNodes, mainNode, nodeRangeProperties: targets.map((t) => ({ targetNodes: t, container: {} })) }) as NodePropertiesShape;
  const ok: { name: string; np: NodePropertiesShape; want: number[] }[] = [
    { name: 'one range for all', np: np(3, 0, '0:'), want: [0, 0, 0] },
    { name: 'main node and the rest', np: np(3, 0, '0:0', '1:'), want: [0, 1, 1] },
    { name: 'open start', np: np(4, 3, ':2', '3'), want: [0, 0, 0, 1] },
    { name: 'single node', np: np(1, 0, '0'), want: [0] },
    { name: 'ranges in any order', np: np(3, 1, '2', '0:1'), want: [1, 1, 0] },
  ];
  for (const c of ok) test(c.name, () => assert.deepEqual(resolveNodeRanges(c.np), c.want));

  const bad: { name: string; np: NodePropertiesShape; field: RegExp }[] = [
    { name: 'mainNode not below numNodes', np: np(3, 3, '0:'), field: /^nodeProperties\.mainNode: .*below numNodes \(3\)/ },
    { name: 'negative mainNode', np: np(3, -1, '0:'), field: /^nodeProperties\.mainNode:/ },
    { name: 'numNodes missing', np: np(undefined, 0, '0:'), field: /^nodeProperties\.numNodes: required/ },
    { name: 'no ranges', np: np(2, 0), field: /^nodeProperties\.nodeRangeProperties: required/ },
    { name: 'a node left out', np: np(3, 0, '0:0', '2'), field: /^nodeProperties\.nodeRangeProperties: node 1 of 3 is in no range/ },
    { name: 'overlapping ranges', np: np(3, 0, '0:1', '1:'), field: /^nodeProperties\.nodeRangeProperties\[1\]\.targetNodes: "1:" overlaps nodeRangeProperties\[0\] \("0:1"\) at node 1/ },
    { name: 'a range past the last node', np: np(2, 0, '0:3'), field: /^nodeProperties\.nodeRangeProperties\[0\]\.targetNodes: "0:3" names node 3, but the job has 2 nodes/ },
    { name: 'a malformed range', np: np(2, 0, 'x'), field: /^nodeProperties\.nodeRangeProperties\[0\]\.targetNodes: "x" is not a valid node range/ },
  ];
  for (const c of bad) {
    test(`refused: ${c.name}`, () =>
      assert.throws(
        () => resolveNodeRanges(c.np),
        (e: unknown) => e instanceof BatchError && e.code === 'ClientException' && c.field.test(e.message),
      ));
  }
});

test('node ids and environment', () => {
  assert.equal(nodeJobId('abc', 2), 'abc#2');
  assert.deepEqual(nodeEnvironment(0, 3, 0, '127.0.0.1'), { AWS_BATCH_JOB_NODE_INDEX: '0', AWS_BATCH_JOB_NUM_NODES: '3', AWS_BATCH_JOB_MAIN_NODE_INDEX: '0' });
  assert.deepEqual(nodeEnvironment(2, 3, 0, '127.0.0.1'), {
    AWS_BATCH_JOB_NODE_INDEX: '2',
    AWS_BATCH_JOB_NUM_NODES: '3',
    AWS_BATCH_JOB_MAIN_NODE_INDEX: '0',
    AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS: '127.0.0.1',
  });
});
