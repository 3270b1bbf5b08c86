/**
 * Preloaded into every run process (`node --import tsx --import <this file> dag.js ...`):
 * whatever user code prints to stdout or stderr passes `redact()` before it reaches the run's
 * log file, like every line the orchestrator itself prints. Secrets a resource resolves in
 * the run process are registered with the same redactor, so they are caught too.
 */
import { redactStandardStreams } from '@dag/core';

redactStandardStreams();
