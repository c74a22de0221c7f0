/** dlc's version, as `dlc --version` and generated files report it. */
export const VERSION = "0.1.0";
