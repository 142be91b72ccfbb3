/**
 * Exact distance kernels over Float32Array rows: dot product, squared L2,
 * norm, and the per-metric score. Tight loops unrolled by four, no
 * allocation per call; rows are addressed by offset into shared buffers.
 */

import type { Metric } from './types.js';

/** The dot product of `a[aOffset..+dimension]` and `b[bOffset..+dimension]`. */
export function dot(a: Float32Array, aOffset: number, b: Float32Array, bOffset: number, dimension: number): number {
  let sum0 = 0;
  let sum1 = 0;
  let sum2 = 0;
  let sum3 = 0;
  const unrolledEnd = dimension - (dimension % 4);
  let index = 0;
  for (; index < unrolledEnd; index += 4) {
    sum0 += (a[aOffset + index] as number) * (b[bOffset + index] as number);
    sum1 += (a[aOffset + index + 1] as number) * (b[bOffset + index + 1] as number);
    sum2 += (a[aOffset + index + 2] as number) * (b[bOffset + index + 2] as number);
    sum3 += (a[aOffset + index + 3] as number) * (b[bOffset + index + 3] as number);
  }
  for (; index < dimension; index++) {
    sum0 += (a[aOffset + index] as number) * (b[bOffset + index] as number);
  }
  return sum0 + sum1 + sum2 + sum3;
}

/** The squared Euclidean distance between `a[aOffset..+dimension]` and `b[bOffset..+dimension]`. */
export function squaredL2(
  a: Float32Array,
  aOffset: number,
  b: Float32Array,
  bOffset: number,
  dimension: number,
): number {
  let sum0 = 0;
  let sum1 = 0;
  let sum2 = 0;
  let sum3 = 0;
  const unrolledEnd = dimension - (dimension % 4);
  let index = 0;
  for (; index < unrolledEnd; index += 4) {
    const difference0 = (a[aOffset + index] as number) - (b[bOffset + index] as number);
    const difference1 = (a[aOffset + index + 1] as number) - (b[bOffset + index + 1] as number);
    const difference2 = (a[aOffset + index + 2] as number) - (b[bOffset + index + 2] as number);
    const difference3 = (a[aOffset + index + 3] as number) - (b[bOffset + index + 3] as number);
    sum0 += difference0 * difference0;
    sum1 += difference1 * difference1;
    sum2 += difference2 * difference2;
    sum3 += difference3 * difference3;
  }
  for (; index < dimension; index++) {
    const difference = (a[aOffset + index] as number) - (b[bOffset + index] as number);
    sum0 += difference * difference;
  }
  return sum0 + sum1 + sum2 + sum3;
}

/** The Euclidean norm of `a[aOffset..+dimension]`. */
export function norm(a: Float32Array, aOffset: number, dimension: number): number {
  return Math.sqrt(dot(a, aOffset, a, aOffset, dimension));
}

/**
 * The score of row `rows[rowOffset..+dimension]` against `query` (read from
 * offset 0) under `metric`, given both precomputed norms. `cosine` and `dot`
 * are similarities (higher is better; cosine is 0 when either norm is 0);
 * `l2` is the Euclidean distance (lower is better).
 */
export function scoreOf(
  metric: Metric,
  query: Float32Array,
  queryNorm: number,
  rows: Float32Array,
  rowOffset: number,
  rowNorm: number,
  dimension: number,
): number {
  switch (metric) {
    case 'cosine': {
      const denominator = queryNorm * rowNorm;
      return denominator === 0 ? 0 : dot(query, 0, rows, rowOffset, dimension) / denominator;
    }
    case 'dot':
      return dot(query, 0, rows, rowOffset, dimension);
    case 'l2':
      return Math.sqrt(squaredL2(query, 0, rows, rowOffset, dimension));
  }
}
