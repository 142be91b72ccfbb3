// Proves the RaftNode API contract outside the transcripts: options are validated by name, the ready/advance handshake
// is enforced, election timeouts are drawn from the injected Random within [electionTicks, 2 × electionTicks), messages
// and Ready batches are plain structured-clone data, and the core source touches no clock, timer, ambient randomness or
// filesystem.
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RaftNode } from '../../../cluster/raft/index.js';
import type { RaftConfig, Ready } from '../../../cluster/raft/index.js';
import { ShoalError } from '../../../runtime/errors.js';
import { SeededRandom } from '../../../runtime/random.js';
import type { Random } from '../../../runtime/random.js';

function config(overrides: Partial<RaftConfig> = {}): RaftConfig {
  return {
    id: 1,
    peers: [1, 2, 3],
    electionTicks: 10,
    heartbeatTicks: 2,
    preVote: false,
    checkQuorum: false,
    random: new SeededRandom(1),
    ...overrides,
  };
}

function drain(node: RaftNode): Ready[] {
  const batches: Ready[] = [];
  for (let ready = node.ready(); ready !== null; ready = node.ready()) {
    batches.push(ready);
    node.advance(ready);
  }
  return batches;
}

describe('RaftNode options', () => {
  it.each([
    [{ id: 0 }, 'id'],
    [{ electionTicks: 0 }, 'electionTicks'],
    [{ heartbeatTicks: 10 }, 'heartbeatTicks'],
    [{ peers: [1, 1] }, 'peers'],
    [{ peers: [1, -2] }, 'peers'],
    [{ maxEntriesPerAppend: 0 }, 'maxEntriesPerAppend'],
    [{ maxInflightAppends: 1.5 }, 'maxInflightAppends'],
  ] as const)('rejects %o naming %s', (override, field) => {
    const attempt = () => new RaftNode(config(override as Partial<RaftConfig>));
    expect(attempt).toThrow(ShoalError);
    expect(attempt).toThrow(new RegExp(`^${field}:`));
  });

  it('rejects restored state whose commit index is beyond its log', () => {
    const restored = { hardState: { term: 2, vote: 1, commit: 9 }, entries: [] };
    expect(() => new RaftNode(config(), restored)).toThrow(/^restored:/);
  });
});

describe('ready/advance handshake', () => {
  it('hands out one Ready at a time and accepts only the outstanding one back', () => {
    const node = new RaftNode(config());
    const ready = node.ready();
    expect(ready).not.toBeNull();
    expect(node.hasReady()).toBe(false);
    expect(() => node.ready()).toThrow(/before advance/);
    expect(() => node.advance({ ...(ready as Ready) })).toThrow(/not the outstanding one/);
    node.advance(ready as Ready);
    expect(node.ready()).toBeNull();
  });

  it('bootstraps founding members with the same committed membership entries', () => {
    const [ready] = drain(new RaftNode(config({ learners: [4] })));
    expect(ready?.hardState).toEqual({ term: 1, vote: 0, commit: 4 });
    expect(
      ready?.entries.map((entry) => (entry.kind === 'conf-change' ? `${entry.change.type} ${entry.change.node}` : '')),
    ).toEqual(['add-voter 1', 'add-voter 2', 'add-voter 3', 'add-learner 4']);
  });

  it('refuses proposals on a follower and names the leader it knows', () => {
    const node = new RaftNode(config());
    drain(node);
    expect(node.propose(new Uint8Array([1]))).toEqual({ ok: false, reason: 'not-leader', leader: 0 });
  });

  it('produces Ready batches that survive structured cloning unchanged', () => {
    const node = new RaftNode(config({ peers: [1] }));
    node.campaign();
    node.propose(new TextEncoder().encode('x'));
    node.readIndex('r1');
    for (const ready of drain(node)) expect(structuredClone(ready)).toEqual(ready);
  });
});

describe('randomized election timeouts', () => {
  /** Ticks until an isolated follower starts an election. */
  function ticksToElection(random: Random): number {
    const node = new RaftNode(config({ random }));
    drain(node);
    for (let tick = 1; tick <= 100; tick += 1) {
      node.tick();
      if (node.status().role !== 'follower') return tick;
    }
    return -1;
  }

  it('draws each timeout from the injected Random within [electionTicks, 2 × electionTicks)', () => {
    const observed = new Set<number>();
    for (let seed = 0; seed < 200; seed += 1) {
      const ticks = ticksToElection(new SeededRandom(seed));
      expect(ticks).toBeGreaterThanOrEqual(10);
      expect(ticks).toBeLessThan(20);
      observed.add(ticks);
    }
    expect(observed.size).toBeGreaterThan(5);
    expect(ticksToElection({ next: () => 0, int: () => 0 })).toBe(10);
    expect(ticksToElection({ next: () => 0.99, int: (bound) => bound - 1 })).toBe(19);
  });
});

describe('ticksUntilDue', () => {
  /** Heartbeats (to 2 and 3) in the messages of the Ready batches. */
  const heartbeats = (node: RaftNode): number =>
    drain(node)
      .flatMap((ready) => ready.messages)
      .filter((message) => message.type === 'heartbeat').length;

  it('names the tick at which a follower times out, and nothing happens before it', () => {
    for (let seed = 0; seed < 20; seed += 1) {
      const node = new RaftNode(config({ random: new SeededRandom(seed) }));
      drain(node);
      node.tick();
      const due = node.ticksUntilDue();
      for (let tick = 1; tick < due; tick += 1) node.tick();
      expect(node.status().role).toBe('follower');
      expect(node.ticksUntilDue()).toBe(1);
      node.tick();
      expect(node.status().role).toBe('candidate');
    }
  });

  it("names a leader's next heartbeat, and an idle learner never needs a tick", () => {
    const node = new RaftNode(config());
    drain(node);
    node.campaign();
    drain(node);
    node.step({ type: 'vote-response', from: 2, to: 1, term: node.status().term, reject: false });
    expect(node.status().role).toBe('leader');
    drain(node);
    for (let round = 0; round < 3; round += 1) {
      const due = node.ticksUntilDue();
      expect(due).toBeGreaterThanOrEqual(1);
      expect(due).toBeLessThanOrEqual(2);
      for (let tick = 1; tick < due; tick += 1) node.tick();
      expect(heartbeats(node)).toBe(0);
      node.tick();
      expect(heartbeats(node)).toBe(2);
    }
    const learner = new RaftNode(config({ id: 4, peers: [1, 2, 3], learners: [4] }));
    expect(learner.ticksUntilDue()).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('purity of cluster/raft', () => {
  it('uses no clock, timer, ambient randomness or filesystem', () => {
    const folder = fileURLToPath(new URL('../../../cluster/raft/', import.meta.url));
    for (const file of readdirSync(folder).filter((name) => name.endsWith('.ts'))) {
      const source = readFileSync(`${folder}${file}`, 'utf8');
      expect(source, file).not.toMatch(
        /Date\.now|new Date|Math\.random|setTimeout|setInterval|setImmediate|node:fs|Promise|async /,
      );
    }
  });
});
