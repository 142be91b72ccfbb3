/**
 * Errors of the simulated filesystem, shaped like `node:fs` errors: an
 * `Error` with the errno `code`, the `syscall` and the `path`, so storage
 * code handles them exactly as it handles real ones (`errnoCode`).
 */

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EEXIST: 'file already exists',
  EISDIR: 'illegal operation on a directory',
  ENOTDIR: 'not a directory',
  ENOTEMPTY: 'directory not empty',
  EBADF: 'bad file descriptor',
  EINVAL: 'invalid argument',
};

/** A Node-style filesystem error; `injected` marks a failure armed by a test. */
export function fsError(code: string, syscall: string, path: string, injected = false): Error {
  const text = injected ? 'injected failure' : (ERRNO_TEXT[code] ?? 'error');
  return Object.assign(new Error(`${code}: ${text}, ${syscall} '${path}'`), { code, syscall, path });
}
