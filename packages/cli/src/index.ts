export { buildProgram, EXIT_OK, EXIT_RUN_FAILED, EXIT_USAGE, main } from './main.ts';
