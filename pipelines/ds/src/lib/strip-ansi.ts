/** CSI sequences (colours, cursor moves) and OSC sequences (titles, links). */
const ANSI = /\x1B\[[0-?]*[ -/]*[@-~]|\x1B\][^\x07\x1B]*(?:\x07|\x1B\\)|\x1B[@-Z\\-_]/g;

/** Removes terminal escape codes so a container's coloured log reads cleanly in the run log. */
export function stripAnsi(text: string): string {
  return text.replace(ANSI, '');
}
