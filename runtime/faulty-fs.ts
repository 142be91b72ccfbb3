/**
 * A FileSystem wrapper that can be told to fail: every write, or every
 * datasync, rejects (or throws) with a chosen errno code from then on. Used
 * by fault-injection tests and chaos runs against real files; a pass-through
 * until a fault is armed.
 */
import type { FileHandle, FileSystem } from './fs.js';

/** Which operations fail once armed. */
export type FaultyOperation = 'write' | 'datasync';

function ioError(code: string, operation: string): Error {
  return Object.assign(new Error(`${code}: injected ${operation} failure`), { code });
}

/** Wraps `inner`; `arm(operation, code)` makes that operation fail from then on. */
export class FaultyFileSystem implements FileSystem {
  private readonly armed = new Map<FaultyOperation, string>();

  constructor(private readonly inner: FileSystem) {}

  /** From now on, every `operation` fails with errno `code` (e.g. EIO, ENOSPC). */
  arm(operation: FaultyOperation, code: string): void {
    this.armed.set(operation, code);
  }

  /** Stops failing. */
  disarm(): void {
    this.armed.clear();
  }

  async open(path: string, flags: Parameters<FileSystem['open']>[1]): Promise<FileHandle> {
    return this.wrap(await this.inner.open(path, flags));
  }

  readFile(path: string): Promise<Uint8Array> {
    return this.inner.readFile(path);
  }

  rename(from: string, to: string): Promise<void> {
    return this.inner.rename(from, to);
  }

  unlink(path: string): Promise<void> {
    return this.inner.unlink(path);
  }

  readdir(path: string): Promise<string[]> {
    return this.inner.readdir(path);
  }

  mkdir(path: string): Promise<void> {
    return this.inner.mkdir(path);
  }

  rm(path: string): Promise<void> {
    return this.inner.rm(path);
  }

  stat(path: string): ReturnType<FileSystem['stat']> {
    return this.inner.stat(path);
  }

  fsyncDir(path: string): Promise<void> {
    return this.inner.fsyncDir(path);
  }

  private failure(operation: FaultyOperation): Error | null {
    const code = this.armed.get(operation);
    return code === undefined ? null : ioError(code, operation);
  }

  private wrap(handle: FileHandle): FileHandle {
    const wrapped: FileHandle = {
      write: async (data, position) => {
        const failure = this.failure('write');
        if (failure !== null) throw failure;
        return handle.write(data, position);
      },
      read: (buffer, offset, length, position) => handle.read(buffer, offset, length, position),
      datasync: async () => {
        const failure = this.failure('datasync');
        if (failure !== null) throw failure;
        return handle.datasync();
      },
      sync: () => handle.sync(),
      truncate: (length) => handle.truncate(length),
      size: () => handle.size(),
      close: () => handle.close(),
    };
    const writeSync = handle.writeSync?.bind(handle);
    const datasyncSync = handle.datasyncSync?.bind(handle);
    if (writeSync !== undefined) {
      wrapped.writeSync = (data, position) => {
        const failure = this.failure('write');
        if (failure !== null) throw failure;
        writeSync(data, position);
      };
    }
    if (datasyncSync !== undefined) {
      wrapped.datasyncSync = () => {
        const failure = this.failure('datasync');
        if (failure !== null) throw failure;
        datasyncSync();
      };
    }
    return wrapped;
  }
}
