// Worker B of the codec benchmark: answers every request that arrives on its
// port. An ArrayBuffer is a msgpackr-packed envelope (answered the same way);
// anything else arrived by structured clone (answered by structured clone).
import { parentPort } from 'node:worker_threads';
import { Packr } from 'msgpackr';
import { answerTo, ownBytes } from './codec-messages.mjs';

const packr = new Packr({ moreTypes: true });
const state = { nextLsn: 1 };

parentPort.once('message', ({ port }) => {
  port.on('message', (value) => {
    if (value instanceof ArrayBuffer) {
      const envelope = packr.unpack(new Uint8Array(value));
      const bytes = ownBytes(
        packr.pack({ k: 'reply', id: envelope.id, ok: true, value: answerTo(envelope.body, state) }),
      );
      port.postMessage(bytes, [bytes]);
      return;
    }
    port.postMessage({ k: 'reply', id: value.id, ok: true, value: answerTo(value.body, state) });
  });
  parentPort.postMessage({ ready: true });
});
