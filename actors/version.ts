/** Basalt's release, reported by every process and compared between master and workers. */
export const BASALT_VERSION = "0.1.0";
