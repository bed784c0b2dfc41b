// GPU inventory and device-index assignment: what a compute environment's GPUs are numbered, and
// which indices a placed job gets (distinct, free, lowest first).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

import { assignGpuIndices, computeEnvironmentCapacity, computeEnvironmentTagProblem, configuredGpus, gpuInventory } from '../../src/core/capacity.js';
import { plan } from '../../src/core/scheduler.js';
import { ce, job, queue, snapshot } from './builders.js';

describe('assignGpuIndices', () => {
  const cases: { name: string; inventory: number[]; inUse: number[]; n: number; want: number[] | undefined }[] = [
    { name: 'no GPUs asked: none given', inventory: [0, 1], inUse: [], n: 0, want: [] },
    { name: 'one GPU on an idle host: the lowest', inventory: [0, 1], inUse: [], n: 1, want: [0] },
    { name: 'the next job gets the other one', inventory: [0, 1], inUse: [0], n: 1, want: [1] },
    { name: 'a freed lower index is reused first', inventory: [0, 1, 2, 3], inUse: [1, 3], n: 1, want: [0] },
    { name: 'several GPUs skip the ones in use', inventory: [0, 1, 2, 3], inUse: [1], n: 2, want: [0, 2] },
    { name: 'all of them', inventory: [0, 1, 2], inUse: [], n: 3, want: [0, 1, 2] },
    { name: 'too few free: none', inventory: [0, 1], inUse: [0], n: 2, want: undefined },
    { name: 'more than the inventory: none', inventory: [0, 1], inUse: [], n: 3, want: undefined },
    { name: 'no inventory at all', inventory: [], inUse: [], n: 1, want: undefined },
    { name: 'discovered indices need not start at 0 or be contiguous', inventory: [2, 5, 7], inUse: [5], n: 2, want: [2, 7] },
    { name: 'an index in use that is not in the inventory changes nothing', inventory: [0, 1], inUse: [9], n: 2, want: [0, 1] },
    { name: 'a duplicate in the inventory is given once', inventory: [0, 0, 1], inUse: [], n: 2, want: [0, 1] },
  ];
  for (const c of cases) {
    test(c.name, () => assert.deepEqual(assignGpuIndices(c.inventory, new Set(c.inUse), c.n), c.want));
  }

  test('property: indices are distinct, from the inventory, not in use, and exactly n (or none when too few are free)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.nat(16)), fc.uniqueArray(fc.nat(16)), fc.nat(8), (inventory, inUse, n) => {
        const got = assignGpuIndices(inventory, new Set(inUse), n);
        const free = inventory.filter((i) => !inUse.includes(i));
        if (free.length < n) return got === undefined;
        assert.ok(got);
        assert.equal(got.length, n);
        assert.equal(new Set(got).size, n);
        for (const i of got) assert.ok(free.includes(i));
        return true;
      }),
    );
  });

  test('property: handing out GPUs one job at a time never gives one index twice', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 8 }), fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 10 }), (gpus, asks) => {
        const inventory = gpuInventory(gpus, {});
        const inUse = new Set<number>();
        let given = 0;
        for (const n of asks) {
          const got = assignGpuIndices(inventory, inUse, n);
          if (got === undefined) {
            assert.ok(inventory.length - inUse.size < n);
            continue;
          }
          for (const i of got) {
            assert.ok(!inUse.has(i));
            inUse.add(i);
          }
          given += n;
        }
        assert.equal(inUse.size, given);
        assert.ok(given <= gpus);
      }),
    );
  });
});

describe('gpuInventory', () => {
  const cases: { name: string; gpus: number; host: number[] | undefined; want: number[] }[] = [
    { name: 'none', gpus: 0, host: undefined, want: [] },
    { name: 'configured on a host without GPUs: 0..N-1', gpus: 2, host: undefined, want: [0, 1] },
    { name: 'the host discovered them: its indices', gpus: 2, host: [0, 1], want: [0, 1] },
    { name: 'fewer configured than the host has: the first ones', gpus: 1, host: [3, 4], want: [3] },
    { name: 'more configured than the host has: numbered on after the host', gpus: 3, host: [0], want: [0, 1, 2] },
  ];
  for (const c of cases) test(c.name, () => assert.deepEqual(gpuInventory(c.gpus, { gpuIndices: c.host }), c.want));
});

describe('configured GPUs (the openbatch:gpus tag)', () => {
  const cases: { tag: string | undefined; want: number | undefined }[] = [
    { tag: undefined, want: undefined },
    { tag: '4', want: 4 },
    { tag: '0', want: 0 },
    { tag: ' 2 ', want: 2 },
    { tag: '-1', want: undefined },
    { tag: '1.5', want: undefined },
    { tag: 'many', want: undefined },
  ];
  for (const c of cases) {
    test(`tag ${JSON.stringify(c.tag)} -> ${c.want}`, () =>
      assert.equal(configuredGpus(c.tag === undefined ? {} : { 'openbatch:gpus': c.tag }), c.want));
  }

  test('the tag sets the capacity; without it the host decides', () => {
    const host = { cpus: 8, memory: 1000, gpus: 1 };
    const managed = { type: 'MANAGED' as const, computeResources: { type: 'EC2' as const, maxvCpus: 4 } };
    assert.deepEqual(computeEnvironmentCapacity({ ...managed, tags: { 'openbatch:gpus': '4' } }, host), { vcpus: 4, memory: 1000, gpus: 4 });
    assert.deepEqual(computeEnvironmentCapacity({ ...managed, tags: {} }, host), { vcpus: 4, memory: 1000, gpus: 1 });
  });
});

describe('plan() with GPUs', () => {
  const MAX = 'MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE - ';
  const CAP = 'CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - ';
  test('two 1-GPU jobs fill 2 GPUs; the third waits for GPUs; a 3-GPU job is a misconfiguration', () => {
    const p = plan(
      snapshot(
        ce('g').capacity(8, 8192, 2),
        queue('q').ces('g').jobs(job('a').gpus(1), job('b').gpus(1), job('c').gpus(1), job('big').gpus(3)),
      ),
    );
    assert.deepEqual(
      p.placements.map((x) => x.jobId),
      ['a', 'b'],
    );
    const reasons = Object.fromEntries(p.unplaced.map((u) => [u.jobId, u.reason]));
    assert.equal(reasons.c, `${CAP}waiting for GPUs: needs 1 vCPU, 1024 MiB, 1 GPU; g has 6 vCPUs, 6144 MiB, 0 GPUs free`);
    assert.equal(reasons.big, `${MAX}needs 3 GPUs, largest compute environment in queue (g) has 2`);
  });

  test('a GPU job short of vCPUs waits for capacity, not GPUs', () => {
    const p = plan(snapshot(ce('g').capacity(2, 8192, 2).used(2, 0, 0), queue('q').ces('g').jobs(job('a').gpus(1))));
    assert.equal(p.unplaced[0].reason, `${CAP}waiting for capacity: needs 1 vCPU, 1024 MiB, 1 GPU; g has 0 vCPUs, 8192 MiB, 2 GPUs free`);
  });
});

describe('compute environment tags', () => {
  const cases: [Record<string, string> | undefined, boolean][] = [
    [undefined, true],
    [{}, true],
    [{ 'openbatch:gpus': '0' }, true],
    [{ 'openbatch:gpus': '8' }, true],
    [{ 'openbatch:gpus': ' 4 ' }, true],
    [{ 'openbatch:gpus': 'x' }, false],
    [{ 'openbatch:gpus': '-2' }, false],
    [{ 'openbatch:gpus': '2.5' }, false],
    [{ 'openbatch:gpus': '' }, false],
    [{ 'openbatch:gpus': '100000' }, false],
    [{ 'openbatch:executor': 'local' }, true],
    [{ 'openbatch:executor': 'container' }, true],
    [{ 'openbatch:executor': 'Container' }, false],
    [{ other: 'anything' }, true],
  ];
  for (const [tags, ok] of cases) {
    test(`${JSON.stringify(tags)} is ${ok ? 'accepted' : 'refused, naming the tag'}`, () => {
      const problem = computeEnvironmentTagProblem(tags);
      if (ok) assert.equal(problem, undefined);
      else assert.match(problem ?? '', /^tags\.openbatch:(gpus|executor): /);
    });
  }
});
