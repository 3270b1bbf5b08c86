/** Exit codes: 0 success, 1 run (or sensor tick) failed, 2 usage or definition error. */
export const EXIT_OK = 0;
export const EXIT_RUN_FAILED = 1;
export const EXIT_USAGE = 2;
