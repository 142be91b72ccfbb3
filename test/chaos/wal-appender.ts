/**
 * Child process of the WAL crash campaign: opens a WAL in `batch` mode and
 * runs eight concurrent appenders, printing `ACK <firstLsn> <lastLsn>` for
 * every acknowledged append, until it is killed.
 * Usage: wal-appender <dir> <seed>
 */
import { nodeFileSystem } from '../../runtime/fs.js';
import { SeededRandom } from '../../runtime/random.js';
import { Wal } from '../../storage/wal/wal.js';
import type { WalEntry } from '../../storage/wal/wal.js';
import { walRecordFor } from './wal-records.js';

const [dir, seedText] = process.argv.slice(2);
if (dir === undefined || seedText === undefined) throw new Error('usage: wal-appender <dir> <seed>');

const wal = await Wal.open(nodeFileSystem, dir, { syncMode: 'batch', segmentBytesMax: 256 * 1024 });
const random = new SeededRandom(Number(seedText));
process.stdout.write(`READY ${wal.lastLsn}\n`);

async function appender(writer: number): Promise<void> {
  for (let sequence = 0; ; sequence++) {
    const count = 1 + random.int(4);
    const entries: WalEntry[] = Array.from({ length: count }, (_, i) =>
      walRecordFor(`s${seedText}-w${writer}-${sequence}-${i}`),
    );
    const { firstLsn, lastLsn } = await wal.append(entries);
    process.stdout.write(`ACK ${firstLsn} ${lastLsn}\n`);
  }
}
await Promise.all(Array.from({ length: 8 }, (_, writer) => appender(writer)));
