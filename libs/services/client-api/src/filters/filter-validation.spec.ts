import { validateFilter } from './filter-validation';

describe('validateFilter', () => {
  it('accepts the spec example and empty filters, keeping unknown keys', () => {
    expect(() =>
      validateFilter({
        event_fields: ['type', 'content', 'sender'],
        event_format: 'client',
        presence: { not_senders: ['@alice:example.com'], types: ['m.presence'] },
        room: {
          ephemeral: { not_rooms: ['!726s6s6q:example.com'], not_senders: ['@spam:example.com'], types: ['m.receipt', 'm.typing'] },
          state: { not_rooms: ['!726s6s6q:example.com'], types: ['m.room.*'], lazy_load_members: true },
          timeline: { limit: 10, not_rooms: ['!726s6s6q:example.com'], not_senders: ['@spam:example.com'], types: ['m.room.message'] },
          include_leave: false,
        },
        'org.example.custom': 1,
      }),
    ).not.toThrow();
    expect(() => validateFilter({})).not.toThrow();
  });

  it.each([
    ['a non-object filter', [], 'M_BAD_JSON'],
    ['event_fields not strings', { event_fields: [1] }, 'M_BAD_JSON'],
    ['event_format not a string', { event_format: 1 }, 'M_BAD_JSON'],
    ['an unknown event_format', { event_format: 'matrix' }, 'M_INVALID_PARAM'],
    ['room not an object', { room: 'all' }, 'M_BAD_JSON'],
    ['a string limit', { room: { timeline: { limit: '10' } } }, 'M_BAD_JSON'],
    ['a fractional limit', { presence: { limit: 1.5 } }, 'M_BAD_JSON'],
    ['a zero limit', { room: { timeline: { limit: 0 } } }, 'M_INVALID_PARAM'],
    ['rooms not a list', { room: { rooms: '!a:b' } }, 'M_BAD_JSON'],
    ['a non-boolean include_leave', { room: { include_leave: 'yes' } }, 'M_BAD_JSON'],
    ['a non-boolean lazy_load_members', { room: { state: { lazy_load_members: 1 } } }, 'M_BAD_JSON'],
    ['account_data types not a list', { account_data: { types: 'm.direct' } }, 'M_BAD_JSON'],
  ])('refuses %s with %s', (_name, filter, errcode) => {
    expect(() => validateFilter(filter)).toThrow(expect.objectContaining({ errcode, status: 400 }) as Error);
  });
});
