/**
 * Most words of a term searched: Postgres keeps 32 compiled regular expressions
 * (`MAX_CACHED_RES`), and past that every candidate compiles every word again (2,000
 * words over 100 users: 12 s of the embedded database's only thread). A term with more
 * words is searched by its first 32, which matches a superset of what all of them would.
 */
export const MAX_SEARCH_WORDS = 32;

/**
 * Longest word searched, in characters: the longest a user ID can be. A longer word is
 * searched by its first 255 characters (again a superset): compiling one word of 70,000
 * characters took the embedded database 23 s and 1 MB of the process's stack (`npm run
 * fuzz`), which stays resident.
 */
export const MAX_SEARCH_WORD_LENGTH = 255;

/**
 * The words of a user directory search term, lower-cased: runs of letters, digits, `_`
 * and `-`, as Synapse splits terms (`[\w-]+`); a user matches when each word starts one
 * of the words of their user ID or display name. At most `MAX_SEARCH_WORDS` distinct ones,
 * each cut to `MAX_SEARCH_WORD_LENGTH` characters.
 */
export function searchWords(term: string): string[] {
  const words = new Set<string>();
  for (const [word] of term.toLowerCase().matchAll(/[\p{L}\p{N}_-]+/gu)) {
    if (words.size === MAX_SEARCH_WORDS) break;
    words.add(word.length > MAX_SEARCH_WORD_LENGTH ? Array.from(word).slice(0, MAX_SEARCH_WORD_LENGTH).join('') : word);
  }
  return [...words];
}
