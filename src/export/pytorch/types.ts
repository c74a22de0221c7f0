import type { Shape } from "../../ir/shape.js";

/** A refusal: the kind (with these arguments) has no exact PyTorch form. */
export interface PytorchRefusal {
  readonly refuse: string;
}

/** Python source that a layer's code needs at module level (a helper class), emitted once. */
export interface PythonHelper {
  /** The name it defines: helpers are emitted once each, in order of first use. */
  readonly name: string;
  readonly code: string;
  /** Helpers this one uses, emitted before it. */
  readonly needs?: readonly PythonHelper[];
}

/** One dlc weight (a parameter or state) as the layer's PyTorch module holds it. */
export interface PytorchWeight {
  /** The spec name (`kernel`, `l2.bw.recurrent_kernel`, `moving_mean`). */
  readonly name: string;
  /** A Python expression for it in dlc's layout, given the module expression `m`. */
  read(m: string): string;
  /** A Python statement copying `v` (dlc's layout, float64) into the module `m`. */
  write(m: string, v: string): string;
}

/**
 * What a registry entry's `pytorch` export sees of one node. Values are batch first, channels
 * last, exactly as dlc's kernels see them.
 */
export interface PytorchContext {
  /** One sample's shape of each input (no batch axis). */
  readonly inputShapes: readonly Shape[];
  /** One sample's output shape (no batch axis). */
  readonly outputShape: Shape;
  /** `frozen`: trained weights stay (the generator turns requires_grad off); batchnorm keeps its running statistics. */
  readonly frozen: boolean;
  /** An activation written after dense/conv: the export gives its functional form, with no module. */
  readonly fused: boolean;
  /** The Python expression of the train block's `bptt` window (the Net's), for recurrent layers. */
  readonly bptt: string;
}

/** A layer's PyTorch form. */
export interface PytorchLayer {
  /** A Python expression building the layer's module (the Net attribute named after the layer); none for add and concat. */
  readonly module?: string;
  /** The Python expression of the layer's output from its module `m` and its inputs' expressions. */
  call(m: string, inputs: readonly string[]): string;
  readonly helpers?: readonly PythonHelper[];
  /** Its weights in spec order (params, then state), each read and written in dlc's layout. */
  readonly weights?: readonly PytorchWeight[];
}

/** A layer kind's PyTorch export, or why it cannot be exported exactly. */
export type PytorchExport<A> = (ctx: PytorchContext, args: A) => PytorchLayer | PytorchRefusal;
