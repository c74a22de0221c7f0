// The interpreter's model of a checked network with every weight random, for the export tests.
import type { CheckedNetwork } from "../../src/check/infer.js";
import { Model } from "../../src/interp/model.js";
import { seededRandom } from "../../src/interp/random.js";

/** A model whose biases, norm statistics and scales are random too, so a swapped or dropped one shows. */
export function randomModel(checked: CheckedNetwork, seed: number): Model {
  const model = new Model(checked, seededRandom(seed));
  const random = seededRandom(seed + 1);
  for (const p of model.params) {
    for (const [name, t] of Object.entries(p)) {
      if (name === "kernel" || name === "embeddings") continue;
      for (let i = 0; i < t.data.length; i++) t.data[i] = name === "gamma" || name === "moving_variance" ? 0.5 + random() : (random() - 0.5) * 0.4;
    }
  }
  return model;
}
