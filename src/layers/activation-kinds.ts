/** Activation words that may follow `dense`/`conv` or stand alone. */
export const activationKinds: ReadonlySet<string> = new Set(["relu", "sigmoid", "tanh", "softmax", "linear", "leakyrelu"]);
