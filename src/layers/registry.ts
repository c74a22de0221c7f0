import { activationKinds } from "./activation-kinds.js";
import * as act from "./activations.js";
import { attention } from "./attention.js";
import { conv } from "./conv.js";
import { dense } from "./dense.js";
import { dropout } from "./dropout.js";
import { embedding } from "./embedding.js";
import { add, concat, input } from "./graph.js";
import { batchnorm, layernorm } from "./norm.js";
import { avgpool, maxpool, minpool } from "./pool.js";
import { gru, lstm, rnn } from "./recurrent.js";
import { flatten, globalavgpool, upsample } from "./reshape.js";
import type { AnyLayerDef } from "./types.js";

/** Every layer kind, by the word that names it in a `.dl` file. Add a kind: one file, one line. */
export const registry: ReadonlyMap<string, AnyLayerDef> = new Map<string, AnyLayerDef>(
  [
    input,
    dense,
    conv,
    maxpool,
    avgpool,
    minpool,
    globalavgpool,
    flatten,
    upsample,
    dropout,
    batchnorm,
    layernorm,
    act.relu,
    act.sigmoid,
    act.tanh,
    act.softmax,
    act.linear,
    act.leakyrelu,
    embedding,
    rnn,
    lstm,
    gru,
    add,
    concat,
    attention,
  ].map((d) => [d.kind, d as AnyLayerDef]),
);

export function layerDef(kind: string): AnyLayerDef | undefined {
  return registry.get(kind);
}

export { activationKinds };
