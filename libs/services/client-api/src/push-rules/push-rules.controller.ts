import { Controller, Get, Param, UseGuards } from '@nestjs/common';
import type { JsonObject } from '@axon/matrix-canonical-json';
import { MatrixError } from '@axon/matrix-errors';
import { defaultPushRules, type PushRuleset } from '@axon/matrix-push-rules';
import { AccessTokenGuard } from '../auth/access-token.guard';
import { Requester } from '../auth/requester';

const KINDS = ['override', 'content', 'room', 'sender', 'underride'] as const;

/**
 * Reading push rules: `GET /pushrules/`, `GET /pushrules/global/`, and one rule or its
 * `enabled`/`actions`. A user's rules are the server-default rules until users can add
 * and change their own (the push rules issue).
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#push-rules-api
 */
@Controller('_matrix/client/v3')
@UseGuards(AccessTokenGuard)
export class PushRulesController {
  // `*` (possibly empty): the spec's paths end in a slash (`/pushrules/`, `/pushrules/global/`).
  @Get('pushrules/*')
  read(@Requester() requester: Requester, @Param('*') rest: string): JsonObject | { global: PushRuleset } | PushRuleset {
    const rules = defaultPushRules(requester.userId);
    const parts = rest.split('/').filter((part) => part !== '');
    if (parts.length === 0) return { global: rules };
    if (parts[0] !== 'global') throw new MatrixError('M_INVALID_PARAM', 'the only push rule scope is "global"', 400);
    if (parts.length === 1) return rules;
    const kind = parts[1] as (typeof KINDS)[number];
    if (!KINDS.includes(kind)) throw new MatrixError('M_INVALID_PARAM', `unknown push rule kind ${JSON.stringify(parts[1])}`, 400);
    if (parts.length === 2) throw new MatrixError('M_UNRECOGNIZED', 'list the rules with /pushrules/global/', 404);
    const rule = rules[kind].find((candidate) => candidate['rule_id'] === parts[2]);
    if (rule === undefined) throw new MatrixError('M_NOT_FOUND', 'no such push rule', 404);
    if (parts.length === 3) return rule;
    if (parts.length === 4 && parts[3] === 'enabled') return { enabled: rule['enabled'] as boolean };
    if (parts.length === 4 && parts[3] === 'actions') return { actions: rule['actions'] as JsonObject[] };
    throw new MatrixError('M_UNRECOGNIZED', 'unrecognized push rules path', 404);
  }
}
