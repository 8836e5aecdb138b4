import { REDACTION_V1, REDACTION_V11, REDACTION_V6, REDACTION_V8, REDACTION_V9, type RedactionRules } from '@axon/matrix-events';
import {
  DEFAULT_ROOM_VERSION,
  getCanonicalJsonMode,
  getRoomVersionRules,
  getRoomVersionsCapability,
  isKnownRoomVersion,
  isValidRoomVersionId,
  ROOM_VERSIONS,
  type RoomVersionRules,
} from './room-versions';

// The redaction algorithms by the room version that introduced each.
const REDACTION_NAMES = new Map<RedactionRules, string>([
  [REDACTION_V1, 'v1'],
  [REDACTION_V6, 'v6'],
  [REDACTION_V8, 'v8'],
  [REDACTION_V9, 'v9'],
  [REDACTION_V11, 'v11'],
]);

/** Every rule of a room version as a flat `sub-rule.flag` → value map. */
function flatten(rules: RoomVersionRules): Record<string, string | number | boolean> {
  const flat: Record<string, string | number | boolean> = {
    stability: rules.stability,
    redaction: REDACTION_NAMES.get(rules.redaction) ?? 'unknown',
    canonicalJson: getCanonicalJsonMode(rules),
  };
  const subRules = { eventFormat: rules.eventFormat, signatures: rules.signatures, authorization: rules.authorization, stateResolution: rules.stateResolution };
  for (const [name, subRule] of Object.entries(subRules)) {
    for (const [flag, value] of Object.entries(subRule)) {
      flat[`${name}.${flag}`] = typeof value === 'bigint' ? `2^${value.toString(2).length}-1` : (value as string | boolean);
    }
  }
  return flat;
}

// The spec's rules per room version, one row per flag, one column per version 1..12
// (Y = yes, - = no). Sources: rooms/v1.md … rooms/v12.md.
const Y = true;
const _ = false;
const SPEC_TABLE: Record<string, ReadonlyArray<string | boolean>> = {
  //                                                   1     2     3     4     5     6     7     8     9     10     11     12
  stability: ['stable', 'stable', 'stable', 'stable', 'stable', 'stable', 'stable', 'stable', 'stable', 'stable', 'stable', 'stable'],
  'eventFormat.name': ['v1', 'v1', 'v3', 'v4', 'v4', 'v6', 'v6', 'v6', 'v6', 'v6', 'v11', 'v12'],
  'eventFormat.includesEventId': [Y, Y, _, _, _, _, _, _, _, _, _, _],
  'eventFormat.referencesWithHashes': [Y, Y, _, _, _, _, _, _, _, _, _, _],
  'eventFormat.eventIdFormat': ['v1', 'v1', 'v3', 'v4', 'v4', 'v4', 'v4', 'v4', 'v4', 'v4', 'v4', 'v4'],
  'eventFormat.roomIdFormat': ['domain', 'domain', 'domain', 'domain', 'domain', 'domain', 'domain', 'domain', 'domain', 'domain', 'domain', 'hash'],
  'eventFormat.maxDepth': ['2^63-1', '2^63-1', '2^63-1', '2^63-1', '2^63-1', '2^53-1', '2^53-1', '2^53-1', '2^53-1', '2^53-1', '2^53-1', '2^53-1'],
  'eventFormat.strictCanonicalJson': [_, _, _, _, _, Y, Y, Y, Y, Y, Y, Y],
  canonicalJson: ['lenient', 'lenient', 'lenient', 'lenient', 'lenient', 'strict', 'strict', 'strict', 'strict', 'strict', 'strict', 'strict'],
  'eventFormat.topLevelRedacts': [Y, Y, Y, Y, Y, Y, Y, Y, Y, Y, _, _],
  'eventFormat.createEventHasRoomId': [Y, Y, Y, Y, Y, Y, Y, Y, Y, Y, Y, _],
  redaction: ['v1', 'v1', 'v1', 'v1', 'v1', 'v6', 'v6', 'v8', 'v9', 'v9', 'v11', 'v11'],
  'signatures.eventIdServerMustSign': [Y, Y, _, _, _, _, _, _, _, _, _, _],
  'signatures.enforceKeyValidity': [_, _, _, _, Y, Y, Y, Y, Y, Y, Y, Y],
  'signatures.authorisingServerMustSign': [_, _, _, _, _, _, _, Y, Y, Y, Y, Y],
  'authorization.specialCaseRoomAliases': [Y, Y, Y, Y, Y, _, _, _, _, _, _, _],
  'authorization.specialCaseRoomRedaction': [Y, Y, _, _, _, _, _, _, _, _, _, _],
  'authorization.limitNotificationsPowerLevels': [_, _, _, _, _, Y, Y, Y, Y, Y, Y, Y],
  'authorization.knocking': [_, _, _, _, _, _, Y, Y, Y, Y, Y, Y],
  'authorization.restrictedJoinRule': [_, _, _, _, _, _, _, Y, Y, Y, Y, Y],
  'authorization.knockRestrictedJoinRule': [_, _, _, _, _, _, _, _, _, Y, Y, Y],
  'authorization.integerPowerLevels': [_, _, _, _, _, _, _, _, _, Y, Y, Y],
  'authorization.useRoomCreateSender': [_, _, _, _, _, _, _, _, _, _, Y, Y],
  'authorization.explicitlyPrivilegeRoomCreators': [_, _, _, _, _, _, _, _, _, _, _, Y],
  'authorization.roomIdIsCreateEventId': [_, _, _, _, _, _, _, _, _, _, _, Y],
  'stateResolution.algorithm': ['v1', 'v2', 'v2', 'v2', 'v2', 'v2', 'v2', 'v2', 'v2', 'v2', 'v2', 'v2'],
  'stateResolution.beginIterativeAuthChecksWithEmptyState': [_, _, _, _, _, _, _, _, _, _, _, Y],
  'stateResolution.considerConflictedStateSubgraph': [_, _, _, _, _, _, _, _, _, _, _, Y],
};

describe('room versions 1 to 12 against the spec', () => {
  it('lists versions 1 to 12, all stable, in order', () => {
    expect(ROOM_VERSIONS.map((rules) => rules.id)).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12']);
  });

  it('the table covers every rule flag', () => {
    expect(Object.keys(flatten(ROOM_VERSIONS[0]!)).sort()).toEqual(Object.keys(SPEC_TABLE).sort());
  });

  describe.each(ROOM_VERSIONS.map((rules, index) => [rules.id, rules, index] as const))('room version %s', (_id, rules, index) => {
    it('has every rule the spec gives it', () => {
      const expected = Object.fromEntries(Object.entries(SPEC_TABLE).map(([flag, values]) => [flag, values[index]]));
      expect(flatten(rules)).toEqual(expected);
    });
  });

  // What each version changed, per its spec page ("… is based upon room version N-1 with
  // the following considerations").
  const DELTAS: Array<[string, string[]]> = [
    ['2', ['stateResolution.algorithm']],
    [
      '3',
      ['eventFormat.name', 'eventFormat.includesEventId', 'eventFormat.referencesWithHashes', 'eventFormat.eventIdFormat', 'signatures.eventIdServerMustSign', 'authorization.specialCaseRoomRedaction'],
    ],
    ['4', ['eventFormat.name', 'eventFormat.eventIdFormat']],
    ['5', ['signatures.enforceKeyValidity']],
    [
      '6',
      ['eventFormat.name', 'eventFormat.maxDepth', 'eventFormat.strictCanonicalJson', 'canonicalJson', 'redaction', 'authorization.specialCaseRoomAliases', 'authorization.limitNotificationsPowerLevels'],
    ],
    ['7', ['authorization.knocking']],
    ['8', ['redaction', 'signatures.authorisingServerMustSign', 'authorization.restrictedJoinRule']],
    ['9', ['redaction']],
    ['10', ['authorization.knockRestrictedJoinRule', 'authorization.integerPowerLevels']],
    ['11', ['eventFormat.name', 'eventFormat.topLevelRedacts', 'redaction', 'authorization.useRoomCreateSender']],
    [
      '12',
      [
        'eventFormat.name',
        'eventFormat.roomIdFormat',
        'eventFormat.createEventHasRoomId',
        'authorization.explicitlyPrivilegeRoomCreators',
        'authorization.roomIdIsCreateEventId',
        'stateResolution.beginIterativeAuthChecksWithEmptyState',
        'stateResolution.considerConflictedStateSubgraph',
      ],
    ],
  ];
  it.each(DELTAS)('room version %s differs from the one before exactly where the spec says', (id, changed) => {
    const index = ROOM_VERSIONS.findIndex((rules) => rules.id === id);
    const before = flatten(ROOM_VERSIONS[index - 1]!);
    const after = flatten(ROOM_VERSIONS[index]!);
    const differing = Object.keys(after).filter((flag) => after[flag] !== before[flag]);
    expect(differing.sort()).toEqual([...changed].sort());
  });
});

describe('the room version registry', () => {
  it('returns the rules of a known version', () => {
    const rules = getRoomVersionRules('10');
    expect(rules.ok && rules.value.id).toBe('10');
    expect(isKnownRoomVersion('12')).toBe(true);
  });

  it.each(['0', '13', '', '1.0', 'org.matrix.msc1234', ' 1', '01'])('refuses %j with M_UNSUPPORTED_ROOM_VERSION', (id) => {
    const rules = getRoomVersionRules(id);
    expect(rules.ok).toBe(false);
    if (!rules.ok) {
      expect(rules.error.errcode).toBe('M_UNSUPPORTED_ROOM_VERSION');
      expect(rules.error.status).toBe(400);
    }
    expect(isKnownRoomVersion(id)).toBe(false);
  });

  it('defaults new rooms to room version 12, as the spec recommends', () => {
    expect(DEFAULT_ROOM_VERSION).toBe('12');
    expect(getRoomVersionsCapability()).toEqual({
      default: '12',
      available: { '1': 'stable', '2': 'stable', '3': 'stable', '4': 'stable', '5': 'stable', '6': 'stable', '7': 'stable', '8': 'stable', '9': 'stable', '10': 'stable', '11': 'stable', '12': 'stable' },
    });
    expect(getRoomVersionsCapability('10').default).toBe('10');
  });

  it('keeps every version\'s rules frozen, sub-rules included', () => {
    for (const rules of ROOM_VERSIONS) {
      expect(Object.isFrozen(rules)).toBe(true);
      expect(Object.isFrozen(rules.authorization)).toBe(true);
      expect(Object.isFrozen(rules.redaction.keptContentKeys)).toBe(true);
      expect(() => {
        (rules.authorization as { knocking: boolean }).knocking = !rules.authorization.knocking;
      }).toThrow(TypeError);
    }
  });

  it.each([
    ['1', true],
    ['1.2-beta', true],
    ['com.example.version', true],
    ['a'.repeat(32), true],
    ['a'.repeat(33), false],
    ['', false],
    ['Upper', false],
    ['under_score', false],
  ])('room version grammar: %j is %s', (id, valid) => {
    expect(isValidRoomVersionId(id)).toBe(valid);
  });
});
