// Worker A of the codec benchmark: asks worker B over a MessagePort, one ask
// at a time, and times the round trips in this thread. Commands come from the
// main thread: `init` (the port), `verify`, `run` (one timed loop).
import { parentPort } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { Packr } from 'msgpackr';
import { answerTo, ownBytes, sourceRequest, transferableCopy } from './codec-messages.mjs';

const packr = new Packr({ moreTypes: true });
const sources = new Map();
let port = null;
let nextId = 1;
let waiting = null;
let lastSizes = { requestBytes: 0, replyBytes: 0 };

function sourceOf(kind) {
  if (!sources.has(kind)) sources.set(kind, sourceRequest(kind));
  return sources.get(kind);
}

function post(value, transfer) {
  return new Promise((resolve) => {
    waiting = resolve;
    port.postMessage(value, transfer);
  });
}

function expectReply(reply, id) {
  if (reply.k !== 'reply' || reply.id !== id || reply.ok !== true) throw new Error(`unexpected reply to ask ${id}`);
  return reply.value;
}

// (1) Structured clone, typed-array buffers transferred: what the runtime does.
async function askStructured(source) {
  const id = nextId++;
  const { body, transfer } = transferableCopy(source);
  return expectReply(await post({ k: 'msg', id, body }, transfer), id);
}

// (2) msgpackr: pack, copy into an ArrayBuffer of its own, transfer it, unpack on the other side.
async function askMsgpackr(body) {
  const id = nextId++;
  const request = ownBytes(packr.pack({ k: 'msg', id, body }));
  lastSizes = { requestBytes: request.byteLength, replyBytes: lastSizes.replyBytes };
  const reply = await post(request, [request]);
  lastSizes = { requestBytes: lastSizes.requestBytes, replyBytes: reply.byteLength };
  return expectReply(packr.unpack(new Uint8Array(reply)), id);
}

// (3) The same clones as (1) with no thread crossing: request and answer through structuredClone.
const inThreadState = { nextLsn: 1 };
function roundTripInThread(source) {
  const id = nextId++;
  const { body, transfer } = transferableCopy(source);
  const request = structuredClone({ k: 'msg', id, body }, { transfer });
  const reply = structuredClone({ k: 'reply', id, ok: true, value: answerTo(request.body, inThreadState) });
  return expectReply(reply, id);
}

async function run({ kind, encoding, durationMs }) {
  const source = sourceOf(kind);
  let roundTrips = 0;
  const start = performance.now();
  const end = start + durationMs;
  let now = start;
  if (encoding === 'in-thread') {
    while (now < end) {
      roundTripInThread(source);
      roundTrips++;
      now = performance.now();
    }
  } else {
    const ask = encoding === 'structured' ? askStructured : askMsgpackr;
    while (now < end) {
      await ask(source);
      roundTrips++;
      now = performance.now();
    }
  }
  return { roundTrips, elapsedMs: now - start, ...(encoding === 'msgpackr' ? lastSizes : {}) };
}

function sameFloats(expected, actual) {
  if (!(actual instanceof Float32Array) || actual.length !== expected.length) return false;
  const a = new Uint8Array(expected.buffer, expected.byteOffset, expected.byteLength);
  const b = new Uint8Array(actual.buffer, actual.byteOffset, actual.byteLength);
  return a.every((byte, index) => byte === b[index]);
}

function sameStrings(expected, actual) {
  return (
    Array.isArray(actual) &&
    actual.length === expected.length &&
    expected.every((value, index) => value === actual[index])
  );
}

// A→B→A through msgpackr twice (B echoes what it unpacked): the Float32Arrays must come back bit for bit.
async function verify() {
  const problems = [];
  const upsert = sourceOf('upsert');
  const echoed = await askMsgpackr({ type: 'echo', payload: upsert });
  if (!sameFloats(upsert.batch.vectors, echoed.batch?.vectors)) problems.push('upsert batch.vectors differ');
  if (!(echoed.batch?.ops instanceof Uint8Array) || echoed.batch.ops.length !== upsert.batch.ops.length)
    problems.push('upsert batch.ops differ');
  if (!sameStrings(upsert.batch.ids, echoed.batch?.ids)) problems.push('upsert batch.ids differ');
  if (!sameStrings(upsert.batch.metadata, echoed.batch?.metadata)) problems.push('upsert batch.metadata differ');
  const search = sourceOf('search');
  const echoedSearch = await askMsgpackr({ type: 'echo', payload: search });
  if (!sameFloats(search.vector, echoedSearch.vector)) problems.push('search vector differs');
  if (echoedSearch.filter?.lang !== 'en' || echoedSearch.k !== 10) problems.push('search fields differ');
  // The default Packr (no moreTypes) turns a Float32Array into a Buffer of its bytes.
  const plain = new Packr();
  const plainBack = plain.unpack(plain.pack(search));
  return {
    ok: problems.length === 0,
    problems,
    defaultPackrKeepsFloat32Array: sameFloats(search.vector, plainBack.vector),
    defaultPackrGives: plainBack.vector?.constructor?.name ?? typeof plainBack.vector,
  };
}

parentPort.on('message', async (command) => {
  try {
    switch (command.cmd) {
      case 'init':
        port = command.port;
        port.on('message', (value) => {
          const resolve = waiting;
          waiting = null;
          resolve(value);
        });
        parentPort.postMessage({ ready: true });
        return;
      case 'verify':
        parentPort.postMessage(await verify());
        return;
      case 'run':
        parentPort.postMessage(await run(command));
        return;
      default:
        throw new Error(`unknown command ${command.cmd}`);
    }
  } catch (error) {
    parentPort.postMessage({ error: String(error?.stack ?? error) });
  }
});
