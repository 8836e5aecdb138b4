/**
 * The words of a user directory search term, lower-cased: runs of letters, digits, `_`
 * and `-`, as Synapse splits terms (`[\w-]+`); a user matches when each word starts one
 * of the words of their user ID or display name.
 */
export function searchWords(term: string): string[] {
  return [...new Set((term.toLowerCase().match(/[\p{L}\p{N}_-]+/gu) ?? []))];
}
