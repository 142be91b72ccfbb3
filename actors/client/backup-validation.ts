/**
 * Validation of `backup` and `restore` requests at the public boundary: the
 * collection names, the folders (resolved to absolute paths against the
 * host's working directory, since the actors have none of their own) and
 * the backup's time, read from the host's clock here because the actors
 * have no wall clock.
 */
import { resolve } from 'node:path';
import { invalidArgument } from '../../runtime/errors.js';
import type { SupervisorMessageOf } from '../supervisor-protocol.js';
import { collectionName } from './validation.js';

/** Longest folder path accepted. */
const PATH_LENGTH_MAX = 4_096;

/** A folder path, checked and made absolute. */
function folderPath(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > PATH_LENGTH_MAX || value.includes('\0')) {
    const got = JSON.stringify(value);
    throw invalidArgument(field, `must be a folder path of 1 to ${PATH_LENGTH_MAX} characters, got ${got}`);
  }
  return resolve(value);
}

/** The supervisor's `backup` message for a public one. */
export function backupMessage(collection: unknown, to: unknown, now: Date): SupervisorMessageOf<'backup'> {
  return {
    type: 'backup',
    collection: collectionName(collection, 'collection'),
    to: folderPath(to, 'to'),
    createdAt: now.toISOString(),
  };
}

/** The supervisor's `restore` message for a public one. */
export function restoreMessage(from: unknown, name: unknown): SupervisorMessageOf<'restore'> {
  return { type: 'restore', from: folderPath(from, 'from'), name: name === undefined ? null : collectionName(name) };
}
