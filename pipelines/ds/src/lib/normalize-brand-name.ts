/**
 * The form brand names are compared in: Unicode NFC (so a Hangul name typed as decomposed jamo
 * equals the composed one), trimmed, inner whitespace collapsed to one space, case-folded.
 *
 * @example
 * normalizeBrandName('  Aurora   LAB ') === normalizeBrandName('aurora lab'); // true
 */
export function normalizeBrandName(name: string): string {
  return name.normalize('NFC').trim().replace(/\s+/g, ' ').toLowerCase();
}
