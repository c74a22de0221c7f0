import { DataError, formatShape } from "./errors.js";
import type { OptimizerKind, OptimizerState } from "./public-types.js";
import { decodeSafetensors, encodeSafetensors } from "./safetensors.js";
import type { LoopState } from "./trainer.js";

/**
 * `dlc train` and `node net.mjs train` `--checkpoint PATH` / `--resume PATH` (one format, one
 * implementation: dlc's CLI imports this runtime file): everything a run needs to continue bit for bit,
 * in one safetensors file (written atomically after every epoch):
 *
 * - tensors, all F64 (exact for either engine's numbers): `weights/<name>` for every weight and
 *   state tensor (§8 names), `optimizer/<buffer>/<name>` for the optimizer's buffers (sgd's
 *   velocity, Adam's m and v) per trainable weight;
 * - `__metadata__`: `format` "dlc-checkpoint", `version` "1", and the run's identity and position:
 *   network, engine, optimizer, seed, batch, epoch (completed), step (optimizer steps), shuffle
 *   (the shuffling generator's state), random (the dropout generators' states, JSON), firstLoss,
 *   bestValLoss, withoutImprovement (early stopping), weights (JSON [[name, shape], …]).
 *
 * A checkpoint of another network (names or shapes), optimizer or engine is refused, as is a
 * corrupt one; nothing is overwritten by refusing.
 */

export interface CheckpointWeight {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: ArrayLike<number>;
}

export interface Checkpoint {
  readonly network: string;
  /** "interpreter" or "compiled f32" / "compiled f64". */
  readonly engine: string;
  readonly seed: number;
  readonly batch: number;
  readonly loop: LoopState;
  readonly weights: readonly CheckpointWeight[];
  readonly optimizer: OptimizerState;
  readonly random: readonly number[];
}

const CHECKPOINT_FORMAT = "dlc-checkpoint";
const CHECKPOINT_VERSION = "1";

/** A checkpoint's bytes (`path` names the file in messages). */
export function encodeCheckpoint(c: Checkpoint, path: string): Uint8Array {
  const tensors: [string, { shape: readonly number[]; data: Float64Array }][] = [];
  for (const w of c.weights) tensors.push([`weights/${w.name}`, { shape: w.shape, data: Float64Array.from(w.data) }]);
  const shapes = new Map(c.weights.map((w) => [w.name, w.shape]));
  for (const [slot, buffers] of Object.entries(c.optimizer.slots)) {
    for (const [name, data] of Object.entries(buffers)) tensors.push([`optimizer/${slot}/${name}`, { shape: shapes.get(name) ?? [data.length], data }]);
  }
  const optional = (x: number | undefined): string => (x === undefined ? "" : String(x));
  const metadata: Record<string, string> = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    network: c.network,
    engine: c.engine,
    optimizer: c.optimizer.kind,
    step: String(c.optimizer.step),
    seed: String(c.seed),
    batch: String(c.batch),
    epoch: String(c.loop.epoch),
    shuffle: String(c.loop.shuffleState),
    random: JSON.stringify(c.random),
    firstLoss: optional(c.loop.firstLoss),
    bestValLoss: optional(c.loop.bestValLoss),
    withoutImprovement: String(c.loop.epochsWithoutImprovement),
    weights: JSON.stringify(c.weights.map((w) => [w.name, w.shape])),
  };
  return encodeSafetensors(tensors, path, "F64", metadata);
}

/** What a run expects a checkpoint to be: the identity it must match. */
export interface CheckpointIdentity {
  readonly network: string;
  readonly engine: string;
  readonly optimizer: OptimizerKind;
  readonly weights: readonly { readonly name: string; readonly shape: readonly number[] }[];
}

/** Decodes and checks a checkpoint's bytes: DataError (exit 2) for a corrupt or foreign one. */
export function decodeCheckpoint(bytes: Uint8Array, path: string, expected: CheckpointIdentity): Checkpoint {
  const fail = (message: string): never => {
    throw new DataError(`${path}: ${message}`, path);
  };
  const contents = decodeSafetensors(bytes, path);
  const m = contents.metadata ?? {};
  if (m.format !== CHECKPOINT_FORMAT) fail("not a dlc checkpoint (its metadata has no format \"dlc-checkpoint\"); --resume takes a file that --checkpoint wrote");
  if (m.version !== CHECKPOINT_VERSION) fail(`a checkpoint of format version ${String(m.version).slice(0, 20)}, which this dlc does not read (it reads ${CHECKPOINT_VERSION})`);
  const whole = (key: string, min = 0): number => {
    const x = Number(m[key]);
    if (m[key] === undefined || m[key] === "" || !Number.isSafeInteger(x) || x < min) fail(`corrupt checkpoint: '${key}' is ${JSON.stringify(m[key] ?? null).slice(0, 40)}, not a whole number ≥ ${min}`);
    return x;
  };
  const maybe = (key: string): number | undefined => {
    if (m[key] === undefined || m[key] === "") return undefined;
    const x = Number(m[key]);
    if (!Number.isFinite(x)) fail(`corrupt checkpoint: '${key}' is ${JSON.stringify(m[key]).slice(0, 40)}, not a number`);
    return x;
  };
  if (m.network !== expected.network) fail(`a checkpoint of network '${String(m.network).slice(0, 60)}', not of '${expected.network}'`);
  let names: unknown;
  try {
    names = JSON.parse(m.weights ?? "");
  } catch {
    fail("corrupt checkpoint: its list of weights is not JSON");
  }
  if (!Array.isArray(names)) fail("corrupt checkpoint: its list of weights is not a list");
  const listed = names as [string, number[]][];
  const describe = (ws: readonly { name: string; shape: readonly number[] }[]): string => ws.map((w) => `${w.name} ${formatShape(w.shape)}`).join(", ");
  const mine = expected.weights.map((w) => ({ name: w.name, shape: w.shape }));
  const theirs = listed.map(([name, shape]) => ({ name: String(name), shape: Array.isArray(shape) ? shape.map(Number) : [] }));
  if (describe(mine) !== describe(theirs)) {
    const missing = mine.filter((w) => !theirs.some((t) => t.name === w.name && formatShape(t.shape) === formatShape(w.shape)));
    fail(`a checkpoint of another network: its weights differ from this network's (${missing.length > 0 ? `${describe(missing.slice(0, 3))} not there as such` : "it has others"})`);
  }
  if (m.optimizer !== expected.optimizer) fail(`a checkpoint of a run with optimizer ${String(m.optimizer).slice(0, 20)}; this run trains with ${expected.optimizer}`);
  if (m.engine !== expected.engine) fail(`a checkpoint of the ${String(m.engine).slice(0, 30)} engine; this run uses the ${expected.engine} (continuing on another engine would not be the same run: pass the same engine flags)`);
  const tensor = (name: string, count: number): Float64Array => {
    const t = contents.tensors.get(name);
    if (!t) return fail(`corrupt checkpoint: it lacks the tensor '${name}'`);
    if (t.data.length !== count) fail(`corrupt checkpoint: '${name}' has ${t.data.length} values, not ${count}`);
    for (let i = 0; i < t.data.length; i++) if (!Number.isFinite(t.data[i]!)) fail(`corrupt checkpoint: '${name}' holds ${t.data[i]}`);
    return Float64Array.from(t.data);
  };
  const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);
  const weights = mine.map((w) => ({ ...w, data: tensor(`weights/${w.name}`, size(w.shape)) }));
  const slots: Record<string, Record<string, Float64Array>> = {};
  for (const name of contents.tensors.keys()) {
    const match = /^optimizer\/([^/]+)\/(.+)$/.exec(name);
    if (!match) continue;
    const [, slot, weight] = match as unknown as [string, string, string];
    const shape = mine.find((w) => w.name === weight)?.shape;
    if (!shape) fail(`corrupt checkpoint: optimizer state for '${weight}', which the network does not have`);
    (slots[slot] ??= {})[weight] = tensor(name, size(shape!));
  }
  let random: unknown;
  try {
    random = JSON.parse(m.random ?? "");
  } catch {
    fail("corrupt checkpoint: the dropout generators' state is not JSON");
  }
  if (!Array.isArray(random) || !random.every((x) => Number.isSafeInteger(x) && x >= 0 && x < 2 ** 32)) fail("corrupt checkpoint: the dropout generators' state is not a list of 32-bit numbers");
  return {
    network: expected.network,
    engine: expected.engine,
    seed: whole("seed"),
    batch: whole("batch", 1),
    loop: {
      epoch: whole("epoch", 1),
      shuffleState: whole("shuffle"),
      firstLoss: maybe("firstLoss"),
      bestValLoss: maybe("bestValLoss"),
      epochsWithoutImprovement: whole("withoutImprovement"),
    },
    weights,
    optimizer: { kind: expected.optimizer, step: whole("step"), slots },
    random: random as number[],
  };
}
