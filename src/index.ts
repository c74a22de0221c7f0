import { inferShapes, type CheckedNetwork } from "./check/infer.js";
import { lint, lintBlocks } from "./check/lint.js";
import { readTrain } from "./check/train.js";
import { diagnostic } from "./diag/codes.js";
import { Diagnostics, type Diagnostic } from "./diag/diagnostic.js";
import { endOfText } from "./diag/span.js";
import { buildNetwork, collectBlocks } from "./ir/build.js";
import type { Shape } from "./ir/shape.js";
import type { TrainConfig } from "./ir/types.js";
import type { FileAst, NetworkDecl } from "./syntax/ast.js";
import { parse } from "./syntax/parse.js";
import { closest } from "./util/suggest.js";

export interface AnalyzeOptions {
  /** `--input`: supplies or overrides the (first) input shape. */
  readonly inputShape?: Shape;
  /** `--network NAME`: which network of the file; the first by default. */
  readonly network?: string;
  /** Check every network of the file, not just the selected one. */
  readonly allNetworks?: boolean;
}

export interface Analysis {
  readonly ast: FileAst;
  /** Sorted by position. */
  readonly diagnostics: readonly Diagnostic[];
  readonly hasErrors: boolean;
  /** The selected network (or every network with `allNetworks`), checked. */
  readonly networks: readonly CheckedNetwork[];
  /** The selected network, when there is one. */
  readonly selected?: CheckedNetwork;
  readonly train?: TrainConfig;
  /** Set when `network` names no network of the file: the message of its "no-network" diagnostic. */
  readonly unknownNetwork?: string;
}

/** text → AST → IR → shapes, counts and lints. Never throws for a mistake in `text`. */
export function analyze(text: string, options: AnalyzeOptions = {}): Analysis {
  const diags = new Diagnostics();
  const ast = parse(text, diags);
  const blocks = collectBlocks(ast.blocks, diags);
  lintBlocks(ast.blocks, ast.networks, diags);
  const train = readTrain(ast.trains, diags, text);
  const { chosen, unknownNetwork } = selectNetworks(ast, options, diags, text);
  const networks: CheckedNetwork[] = [];
  for (const decl of chosen) {
    const network = buildNetwork(decl, blocks, diags, { inputShape: options.inputShape });
    const checked = inferShapes(network, diags);
    lint(checked, train, diags);
    networks.push(checked);
  }
  const selected = options.allNetworks ? networks.find((n) => n.network.name === (options.network ?? chosen[0]?.name?.name ?? null)) ?? networks[0] : networks[0];
  return { ast, diagnostics: diags.sorted(), hasErrors: diags.hasErrors, networks, selected, train, unknownNetwork };
}

/** The networks to check; `unknownNetwork` is the no-network message when `options.network` names none of the file's. */
function selectNetworks(ast: FileAst, options: AnalyzeOptions, diags: Diagnostics, text: string): { chosen: NetworkDecl[]; unknownNetwork?: string } {
  if (ast.networks.length === 0) {
    if (ast.blocks.length > 0 || ast.trains.length > 0 || text.trim().length > 0) {
      if (!diags.hasErrors) diags.add(diagnostic("no-network", endOfText(text), "the file defines no network: write 'network NAME { … }' or layer statements"));
    } else {
      diags.add(diagnostic("no-network", endOfText(text), "the file is empty: it defines no network"));
    }
    return { chosen: [] };
  }
  if (options.network !== undefined) {
    const found = ast.networks.find((n) => n.name?.name === options.network);
    if (!found) {
      const unknownNetwork = unknownNetworkMessage(options.network, ast);
      diags.add(diagnostic("no-network", ast.networks[0]!.span, unknownNetwork));
      return { chosen: [], unknownNetwork };
    }
    return { chosen: options.allNetworks ? [...ast.networks] : [found] };
  }
  return { chosen: options.allNetworks ? [...ast.networks] : [ast.networks[0]!] };
}

function unknownNetworkMessage(name: string, ast: FileAst): string {
  const names = ast.networks.flatMap((n) => (n.name ? [n.name.name] : []));
  const guess = closest(name, names);
  return `no network named '${name}'${guess ? `; did you mean '${guess}'?` : names.length ? ` (the file has ${names.join(", ")})` : ""}`;
}

export { summarize, summaryJson, type Summary, type Convention } from "./check/summary.js";
export type { CheckedNetwork } from "./check/infer.js";
export type { Diagnostic } from "./diag/diagnostic.js";
