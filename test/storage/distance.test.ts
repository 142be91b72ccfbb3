// Proves the unrolled kernels agree with naive float64 reference loops on seeded random vectors of odd dimensions and
// at offsets, and give known values on hand-picked vectors.
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../runtime/random.js';
import { dot, norm, scoreOf, squaredL2 } from '../../storage/distance.js';

const DIMENSIONS = [1, 3, 5, 17, 384];
const TOLERANCE = 1e-9;

function randomVector(random: SeededRandom, length: number): Float32Array {
  const vector = new Float32Array(length);
  for (let index = 0; index < length; index++) vector[index] = random.next() * 2 - 1;
  return vector;
}

function naiveDot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let index = 0; index < a.length; index++) sum += (a[index] as number) * (b[index] as number);
  return sum;
}

function naiveSquaredL2(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let index = 0; index < a.length; index++) sum += ((a[index] as number) - (b[index] as number)) ** 2;
  return sum;
}

function close(actual: number, expected: number): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(TOLERANCE * Math.max(1, Math.abs(expected)));
}

describe('distance kernels against naive references', () => {
  const random = new SeededRandom(42);
  for (const dimension of DIMENSIONS) {
    it(`dimension ${dimension}`, () => {
      for (let trial = 0; trial < 20; trial++) {
        const a = randomVector(random, dimension);
        const b = randomVector(random, dimension);
        close(dot(a, 0, b, 0, dimension), naiveDot(a, b));
        close(squaredL2(a, 0, b, 0, dimension), naiveSquaredL2(a, b));
        close(norm(a, 0, dimension), Math.sqrt(naiveDot(a, a)));
        const normA = Math.sqrt(naiveDot(a, a));
        const normB = Math.sqrt(naiveDot(b, b));
        close(scoreOf('cosine', a, normA, b, 0, normB, dimension), naiveDot(a, b) / (normA * normB));
        close(scoreOf('dot', a, normA, b, 0, normB, dimension), naiveDot(a, b));
        close(scoreOf('l2', a, normA, b, 0, normB, dimension), Math.sqrt(naiveSquaredL2(a, b)));
      }
    });
  }

  it('reads rows at an offset inside a larger buffer', () => {
    const dimension = 17;
    const rows = randomVector(random, dimension * 5);
    const query = randomVector(random, dimension);
    for (let row = 0; row < 5; row++) {
      const slice = rows.slice(row * dimension, (row + 1) * dimension);
      close(dot(query, 0, rows, row * dimension, dimension), naiveDot(query, slice));
      close(dot(rows, row * dimension, query, 0, dimension), naiveDot(query, slice));
      close(squaredL2(query, 0, rows, row * dimension, dimension), naiveSquaredL2(query, slice));
      close(norm(rows, row * dimension, dimension), Math.sqrt(naiveDot(slice, slice)));
    }
  });
});

describe('distance kernels on known values', () => {
  it('orthogonal vectors have cosine 0 and dot 0', () => {
    const a = Float32Array.of(1, 0);
    const b = Float32Array.of(0, 1);
    expect(scoreOf('cosine', a, 1, b, 0, 1, 2)).toBe(0);
    expect(scoreOf('dot', a, 1, b, 0, 1, 2)).toBe(0);
  });

  it('identical vectors have cosine 1 and l2 0', () => {
    const a = Float32Array.of(1, 2, 3, 4, 5);
    const length = norm(a, 0, 5);
    close(scoreOf('cosine', a, length, a, 0, length, 5), 1);
    expect(scoreOf('l2', a, length, a, 0, length, 5)).toBe(0);
  });

  it('l2 between (0,0) and (3,4) is 5', () => {
    const origin = Float32Array.of(0, 0);
    const point = Float32Array.of(3, 4);
    expect(scoreOf('l2', origin, 0, point, 0, 5, 2)).toBe(5);
    expect(squaredL2(origin, 0, point, 0, 2)).toBe(25);
    expect(norm(point, 0, 2)).toBe(5);
  });

  it('cosine is 0 when either norm is 0', () => {
    const zero = new Float32Array(3);
    const other = Float32Array.of(1, 2, 3);
    expect(scoreOf('cosine', zero, 0, other, 0, norm(other, 0, 3), 3)).toBe(0);
    expect(scoreOf('cosine', other, norm(other, 0, 3), zero, 0, 0, 3)).toBe(0);
  });

  it('opposite vectors have cosine -1', () => {
    const a = Float32Array.of(1, 2, 3);
    const b = Float32Array.of(-1, -2, -3);
    const length = norm(a, 0, 3);
    close(scoreOf('cosine', a, length, b, 0, length, 3), -1);
  });
});
