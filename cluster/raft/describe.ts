/**
 * One-line, deterministic text for entries, messages and snapshots, for logs
 * and for the transcript tests. Positions are written `term/index` as in
 * etcd's transcripts; entry data is shown as a quoted UTF-8 string when it is
 * printable and as hex otherwise.
 */
import type { Entry, Message, Snapshot } from './types.js';

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Entry data as a quoted string (printable UTF-8) or `0x…` hex. */
export function describeData(data: Uint8Array): string {
  try {
    const text = decoder.decode(data);
    if (/^[\x20-\x7e]*$/.test(text)) return JSON.stringify(text);
  } catch {
    // Not UTF-8: fall through to hex.
  }
  return `0x${Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('hex')}`;
}

/** `term/index kind payload`, e.g. `2/7 normal "x"` or `1/1 conf-change add-voter 1`. */
export function describeEntry(entry: Entry): string {
  const position = `${entry.term}/${entry.index}`;
  if (entry.kind === 'normal') return `${position} normal ${describeData(entry.data)}`;
  return `${position} conf-change ${entry.change.type} ${entry.change.node}`;
}

/** `term/index voters=(…) learners=(…)` for a snapshot. */
export function describeSnapshot(snapshot: Snapshot): string {
  const members = `voters=(${snapshot.voters.join(',')}) learners=(${snapshot.learners.join(',')})`;
  return `${snapshot.term}/${snapshot.index} ${members}`;
}

/** `from->to type term=T …` with the fields that matter for the type. */
export function describeMessage(message: Message): string {
  const head = `${message.from}->${message.to} ${message.type} term=${message.term}`;
  return `${head}${describeFields(message)}`;
}

function describeFields(message: Message): string {
  switch (message.type) {
    case 'vote':
    case 'pre-vote':
      return ` last=${message.lastLogTerm}/${message.lastLogIndex}${message.transfer ? ' transfer' : ''}`;
    case 'vote-response':
    case 'pre-vote-response':
      return message.reject ? ' rejected' : ' granted';
    case 'append': {
      const entries = message.entries.length === 0 ? '' : ` entries=[${message.entries.map(describeEntry).join(', ')}]`;
      return ` prev=${message.prevLogTerm}/${message.prevLogIndex} commit=${message.commit}${entries}`;
    }
    case 'append-response':
      return message.reject
        ? ` rejected index=${message.index} hint=${message.hintTerm}/${message.hintIndex}`
        : ` index=${message.index}`;
    case 'heartbeat':
      return ` commit=${message.commit}${message.context === null ? '' : ` context=${message.context}`}`;
    case 'heartbeat-response':
      return message.context === null ? '' : ` context=${message.context}`;
    case 'snapshot':
      return ` snapshot=${describeSnapshot(message.snapshot)}`;
    case 'timeout-now':
      return '';
    case 'read-index':
      return ` id=${message.requestId}`;
    case 'read-index-response':
      return ` id=${message.requestId} index=${message.index}`;
  }
}
