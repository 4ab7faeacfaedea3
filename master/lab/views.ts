/**
 * The lab's views now live in master/views/ (one module for each thing read);
 * this name is kept for the tests that import it from here.
 */
export * from "../views/mod.ts";
