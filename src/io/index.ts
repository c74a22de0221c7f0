/**
 * Weights and data files (LANGUAGE.md §8) for dlc's command line and interpreter: thin adapters
 * over the runtime that every generated module carries (src/codegen/runtime), so that dlc and
 * the modules it writes read and refuse the same files with the same messages.
 */
export { DataError } from "../codegen/runtime/errors.js";
export { expectedWeights, type ExpectedWeight } from "./weight-names.js";
export { readWeights, readWeightsFile, checkWeights, writeWeights, weightsFormat, type WeightMap, type WeightsFormat, type ReadWeightsOptions, type WriteWeightsOptions } from "./weights.js";
export { decodeSafetensors, encodeSafetensors } from "../codegen/runtime/safetensors.js";
export { writeFileAtomic, type AtomicWriteHooks } from "./atomic-write.js";
export { nodeHost } from "./node-host.js";
export { dataSpecOf, type DataSpec, type InputSpec } from "./data-spec.js";
export { loadData, type DataFormat } from "./data.js";
export { toRuntimeDataset, withShapes, type Dataset, type InputSamples, type TargetSamples } from "./dataset.js";
