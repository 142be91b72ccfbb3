/**
 * The Node options a worker thread starts with. By default a worker inherits
 * its parent's options, which is what Shoal wants (a `--import tsx` or
 * `--conditions` of the host must reach the actors) with one exception: a
 * host started with `node --input-type=module -e "..."` hands `--input-type`
 * on, and Node refuses to load a worker's entry file under it
 * (ERR_INPUT_TYPE_NOT_ALLOWED: the flag is for string input only). The
 * nested threads a worker starts (segment builds) inherit the worker's
 * options in turn, so the flag has to go at the top of the tree.
 *
 * Only when the host's options hold such a flag does the worker get an
 * explicit list: the host's options without the string-input ones. An
 * explicit list is checked more strictly than inherited options (process-wide
 * flags such as `--max-old-space-size` are refused), so `minimalExecArgv`
 * is the fallback: only the flags that decide how modules load.
 */

/** Flags of string input (a separate value unless `--flag=value`), meaningless for a worker's file entry. */
const STRING_INPUT_FLAGS_WITH_VALUE = new Set(['--input-type', '-e', '--eval', '-p', '--print', '-pe', '-ep']);
/** Flags of string or interactive input that take no value. */
const STRING_INPUT_FLAGS = new Set(['-i', '--interactive', '-c', '--check', '-']);
/** Flags that decide how modules resolve and load, with a separate value unless written `--flag=value`. */
const LOADER_FLAGS_WITH_VALUE = new Set([
  '--import',
  '--require',
  '-r',
  '--loader',
  '--experimental-loader',
  '--conditions',
  '-C',
]);

/** The flag name of an option (`--input-type=module` is `--input-type`). */
function flagName(option: string): string {
  const equals = option.indexOf('=');
  return equals === -1 ? option : option.slice(0, equals);
}

/** True when `option` is written with its value (`--flag=value`), so the next option is not its value. */
function carriesValue(option: string): boolean {
  return option.startsWith('--') && option.includes('=');
}

/**
 * The `execArgv` a worker should get: undefined (inherit the host's options)
 * unless the host's options say `--input-type`, then the host's options
 * without string-input flags and their values.
 */
export function workerExecArgv(execArgv: readonly string[]): string[] | undefined {
  if (!execArgv.some((option) => flagName(option) === '--input-type')) return undefined;
  return keep(execArgv, (name) => !STRING_INPUT_FLAGS_WITH_VALUE.has(name) && !STRING_INPUT_FLAGS.has(name));
}

/** The fallback when a worker refuses `workerExecArgv`'s list: only the module loading flags, with their values. */
export function minimalExecArgv(execArgv: readonly string[]): string[] {
  return keep(execArgv, (name) => LOADER_FLAGS_WITH_VALUE.has(name));
}

/** The options whose flag `wanted` accepts, each with its separate value when it takes one. */
function keep(execArgv: readonly string[], wanted: (name: string) => boolean): string[] {
  const kept: string[] = [];
  for (let index = 0; index < execArgv.length; index++) {
    const option = execArgv[index] as string;
    const name = flagName(option);
    const withValue = STRING_INPUT_FLAGS_WITH_VALUE.has(name) || LOADER_FLAGS_WITH_VALUE.has(name);
    const takesValue = withValue && !carriesValue(option);
    const value = takesValue ? execArgv[index + 1] : undefined;
    if (takesValue) index++;
    if (!wanted(name)) continue;
    kept.push(option);
    if (value !== undefined) kept.push(value);
  }
  return kept;
}
