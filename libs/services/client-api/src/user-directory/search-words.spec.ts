import { MAX_SEARCH_WORD_LENGTH, MAX_SEARCH_WORDS, searchWords } from './search-words';

describe('searchWords', () => {
  it.each([
    ['Alice', ['alice']],
    ['  bob  SMITH bob ', ['bob', 'smith']],
    ['@carol:hs.test', ['carol', 'hs', 'test']],
    ['dave_o-neil Émile 李', ['dave_o-neil', 'émile', '李']],
    ['!!!', []],
  ])('splits %j into %j', (term, words) => {
    expect(searchWords(term)).toEqual(words);
  });

  it('searches the first words of a term with too many', () => {
    const words = Array.from({ length: 100 }, (_, i) => `w${i}`);
    expect(searchWords(words.join(' '))).toEqual(words.slice(0, MAX_SEARCH_WORDS));
  });

  it('searches a word past the longest user ID by its start, whole characters', () => {
    expect(searchWords('a'.repeat(70_000))).toEqual(['a'.repeat(MAX_SEARCH_WORD_LENGTH)]);
    const [word] = searchWords('𠀀'.repeat(300));
    expect(Array.from(word!)).toEqual(Array(MAX_SEARCH_WORD_LENGTH).fill('𠀀'));
  });
});
