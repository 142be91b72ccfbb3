/**
 * The body of every worker thread: one station wired to the main thread
 * through `parentPort` and to other workers through MessagePorts that the
 * system hands over on request.
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import type { ActorFactory, ActorSpec } from './actor.js';
import { assert } from './assert.js';
import { systemClock } from './clock.js';
import { nodeFileSystem } from './fs.js';
import { RUNTIME_LIMITS } from './limits.js';
import type { Envelope, WorkerBootData } from './protocol.js';
import { systemRandom } from './random.js';
import { Station } from './station.js';
import { setThreadDyingFlag } from './thread.js';

const boot = workerData as WorkerBootData;
const port = parentPort;
assert(port !== null, 'worker-main must run in a worker thread');
setThreadDyingFlag(new Int32Array(boot.dying));

const peers = new Map<number, MessagePort>();

async function loadFactory(spec: ActorSpec): Promise<ActorFactory> {
  const module = (await import(spec.module)) as Record<string, unknown>;
  const factory = module[spec.factory];
  assert(typeof factory === 'function', `${spec.module} exports no function ${spec.factory}`);
  return factory as ActorFactory;
}

const station: Station = new Station({
  id: boot.stationId,
  threadId,
  clock: systemClock,
  random: systemRandom(),
  fs: nodeFileSystem,
  mailboxCapacity: RUNTIME_LIMITS.mailboxCapacity,
  schedule: (work) => setImmediate(work),
  loadFactory,
  links: {
    post(target, envelope, transfer) {
      const link = target === 0 ? port : peers.get(target);
      if (link === undefined) return false;
      link.postMessage(envelope, transfer);
      return true;
    },
    requestLink(target) {
      port.postMessage({ k: 'connect', peer: target } satisfies Envelope);
      return true;
    },
    drop(target) {
      peers.get(target)?.close();
      peers.delete(target);
    },
  },
});

function acceptPort(peer: number, peerPort: MessagePort): void {
  peerPort.on('message', (envelope: Envelope) => station.receive(envelope));
  if (!peers.has(peer)) peers.set(peer, peerPort);
  station.linked(peer);
}

port.on('message', (envelope: Envelope) => {
  if (envelope.k === 'port') acceptPort(envelope.peer, envelope.port);
  else station.receive(envelope);
});
