/** Weights and data files (LANGUAGE.md §8). */
export { DataError } from "./errors.js";
export { expectedWeights, type ExpectedWeight } from "./weight-names.js";
export { readWeights, readWeightsFile, checkWeights, writeWeights, weightsFormat, type WeightMap, type ReadWeightsOptions, type WriteWeightsOptions } from "./weights.js";
export { decodeSafetensors, encodeSafetensors } from "./safetensors.js";
export { writeFileAtomic, type AtomicWriteHooks } from "./atomic-write.js";
export { dataSpecOf, type DataSpec, type InputSpec } from "./data-spec.js";
export { loadData, type DataFormat } from "./data.js";
export { gatherInput, sliceInput, type Dataset, type InputSamples, type TargetSamples } from "./dataset.js";
