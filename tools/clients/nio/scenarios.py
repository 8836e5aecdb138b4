"""matrix-nio scenarios against one homeserver, run by tools/clients/run.mjs.

    python scenarios.py BASE_URL [SCENARIO ...]

Each scenario registers its own users and rooms, so any one can run alone. One JSON line
per scenario goes to stdout: {"client": "nio", "scenario", "ok", "ms", "error"}. A failing
step raises Failure naming the step and what the server answered.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import sys
import time
import traceback

from nio import (
    AsyncClient,
    AsyncClientConfig,
    DevicesResponse,
    JoinedMembersResponse,
    JoinedRoomsResponse,
    JoinResponse,
    LogoutResponse,
    PresenceGetResponse,
    PresenceSetResponse,
    ProfileGetDisplayNameResponse,
    ProfileGetResponse,
    ProfileSetAvatarResponse,
    ProfileSetDisplayNameResponse,
    LoginResponse,
    MessageDirection,
    ReceiptEvent,
    RedactedEvent,
    RedactionEvent,
    RegisterResponse,
    RoomContextResponse,
    RoomCreateResponse,
    RoomForgetResponse,
    RoomGetEventResponse,
    RoomGetStateEventResponse,
    RoomGetStateResponse,
    RoomInviteResponse,
    RoomLeaveResponse,
    RoomMessagesResponse,
    RoomMessageText,
    RoomPreset,
    RoomPutStateResponse,
    RoomRedactResponse,
    RoomSendResponse,
    RoomTypingResponse,
    RoomVisibility,
    SyncResponse,
    TypingNoticeEvent,
    UpdateReceiptMarkerResponse,
    UploadFilterResponse,
    WhoamiError,
    WhoamiResponse,
)

PASSWORD = "clients-password-1"
SCENARIO_TIMEOUT_S = 60
SYNC_WAIT_S = 15


class Failure(Exception):
    pass


class Warnings(logging.Handler):
    """What nio logged while a scenario ran (e.g. why it rejected a response's shape)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def expect(response, kind, step):
    """The response if it is a `kind`; otherwise a Failure with what the server said."""
    if not isinstance(response, kind):
        detail = getattr(response, "message", None) or repr(response)
        status = getattr(response, "status_code", None)
        raise Failure(f"{step}: got {type(response).__name__} {status or ''} {detail}".strip())
    return response


def check(condition, step):
    if not condition:
        raise Failure(step)


class Scenario:
    """The clients one scenario made, closed at its end."""

    def __init__(self, base_url: str, name: str):
        self.base_url = base_url
        self.name = name
        self.clients: list[AsyncClient] = []

    def client(self) -> AsyncClient:
        config = AsyncClientConfig(encryption_enabled=False, store_sync_tokens=False)
        c = AsyncClient(self.base_url, config=config)
        self.clients.append(c)
        return c

    async def user(self, role: str, device_name: str = "nio") -> AsyncClient:
        """A freshly registered user (`<scenario>-<role>-<random>`), logged in by registering."""
        c = self.client()
        username = f"{self.name}-{role}-{secrets.token_hex(4)}"
        r = expect(await c.register(username, PASSWORD, device_name), RegisterResponse, f"register {username}")
        check(r.user_id.startswith(f"@{username}:"), f"register {username}: user_id {r.user_id}")
        return c

    async def close(self):
        for c in self.clients:
            await c.close()


async def sync(c: AsyncClient, step: str, timeout_ms: int = 0, **kwargs) -> SyncResponse:
    return expect(await c.sync(timeout=timeout_ms, **kwargs), SyncResponse, step)


async def sync_until(c: AsyncClient, found, step: str):
    """Incremental syncs (long-polls of 1 s) until found(response) is truthy; returns it."""
    deadline = time.monotonic() + SYNC_WAIT_S
    while True:
        r = await sync(c, step, timeout_ms=1000)
        hit = found(r)
        if hit:
            return hit
        if time.monotonic() > deadline:
            raise Failure(f"{step}: not seen within {SYNC_WAIT_S} s of syncs")


def timeline(r: SyncResponse, room_id: str):
    room = r.rooms.join.get(room_id)
    return room.timeline.events if room else []


def ephemeral(r: SyncResponse, room_id: str):
    room = r.rooms.join.get(room_id)
    return room.ephemeral if room else []


async def create_room(c: AsyncClient, step: str, **kwargs) -> str:
    return expect(await c.room_create(**kwargs), RoomCreateResponse, step).room_id


async def send_text(c: AsyncClient, room_id: str, body: str) -> str:
    content = {"msgtype": "m.text", "body": body}
    return expect(await c.room_send(room_id, "m.room.message", content), RoomSendResponse, f"send {body!r}").event_id


async def shared_room(s: Scenario, **kwargs):
    """alice creates a room, bob joins it; both have synced once since."""
    alice, bob = await s.user("alice"), await s.user("bob")
    room_id = await create_room(alice, "alice creates the room", preset=RoomPreset.public_chat, **kwargs)
    expect(await bob.join(room_id), JoinResponse, "bob joins")
    await sync(alice, "alice's first sync")
    await sync(bob, "bob's first sync")
    return alice, bob, room_id


async def register_login(s: Scenario):
    first = await s.user("alice", device_name="first")
    second = s.client()
    second.user = first.user_id
    login = expect(await second.login(PASSWORD, device_name="second"), LoginResponse, "password login")
    check(login.user_id == first.user_id, f"login: user_id {login.user_id} != {first.user_id}")
    check(login.device_id != first.device_id, "login: a new device was expected")
    who = expect(await second.whoami(), WhoamiResponse, "whoami")
    check(who.user_id == first.user_id and who.device_id == login.device_id, f"whoami: {who.user_id} {who.device_id}")


async def rooms_send(s: Scenario):
    alice, bob = await s.user("alice"), await s.user("bob")
    alias = f"{s.name}-{secrets.token_hex(4)}"
    room_id = await create_room(
        alice, "create a public room with an alias", visibility=RoomVisibility.public, alias=alias, name="nio room", preset=RoomPreset.public_chat
    )
    server = alice.user_id.split(":", 1)[1]
    joined = expect(await bob.join(f"#{alias}:{server}"), JoinResponse, "bob joins by alias")
    check(joined.room_id == room_id, f"join by alias: room {joined.room_id} != {room_id}")
    await sync(bob, "bob's first sync")
    event_id = await send_text(alice, room_id, "hello from nio")

    def seen(r):
        return next((e for e in timeline(r, room_id) if isinstance(e, RoomMessageText) and e.event_id == event_id), None)

    msg = await sync_until(bob, seen, "bob sees alice's message")
    check(msg.body == "hello from nio" and msg.sender == alice.user_id, f"message: {msg.sender} {msg.body!r}")
    room = bob.rooms[room_id]
    check(set(room.users) >= {alice.user_id, bob.user_id}, f"room members: {sorted(room.users)}")
    check(room.name == "nio room", f"room name: {room.name!r}")


async def messages_from_sync_token(s: Scenario):
    """Scroll back from a /sync next_batch with /messages (how nio and matrix-commander page)."""
    alice = await s.user("alice")
    room_id = await create_room(alice, "create a room")
    bodies = [f"message {i}" for i in range(1, 26)]
    for body in bodies:
        await send_text(alice, room_id, body)
    token = (await sync(alice, "sync for a next_batch")).next_batch
    seen, start = [], token
    for page in range(10):
        r = expect(
            await alice.room_messages(room_id, start=start, direction=MessageDirection.back, limit=10),
            RoomMessagesResponse,
            f"room_messages page {page + 1} from {'the sync next_batch' if page == 0 else 'the previous end'}",
        )
        seen += [e.body for e in r.chunk if isinstance(e, RoomMessageText)]
        if not r.chunk or r.end is None or len(seen) >= len(bodies):
            break
        start = r.end
    check(seen == bodies[::-1], f"paged back: {seen} (want message 25 down to message 1)")


async def redact_v12(s: Scenario):
    alice, bob, room_id = await shared_room(s, room_version="12")
    event_id = await send_text(alice, room_id, "secret")
    expect(await alice.room_redact(room_id, event_id, reason="oops"), RoomRedactResponse, "redact")

    def redaction(r):
        return next((e for e in timeline(r, room_id) if isinstance(e, RedactionEvent) and e.redacts == event_id), None)

    seen = await sync_until(bob, redaction, "bob's sync shows the redaction as a RedactionEvent with redacts")
    check(seen.sender == alice.user_id, f"redaction sender {seen.sender}")
    got = expect(await bob.room_get_event(room_id, event_id), RoomGetEventResponse, "get the redacted event")
    check(isinstance(got.event, RedactedEvent), f"/event: the original is a {type(got.event).__name__}, not redacted")
    # Scroll back as a client opening the room does: an initial sync with a short timeline,
    # then /messages from its prev_batch, where the original must come redacted.
    fresh = s.client()
    fresh.access_token, fresh.user_id, fresh.device_id = bob.access_token, bob.user_id, bob.device_id
    r = await sync(fresh, "fresh initial sync", sync_filter={"room": {"timeline": {"limit": 1}}})
    prev = r.rooms.join[room_id].timeline.prev_batch
    page = expect(await fresh.room_messages(room_id, start=prev, limit=20), RoomMessagesResponse, "room_messages from prev_batch")
    original = next((e for e in page.chunk if e.event_id == event_id), None)
    check(original is not None, "/messages: the redacted original is missing")
    check(isinstance(original, RedactedEvent), f"/messages: the original is a {type(original).__name__}, not redacted")


async def devices(s: Scenario):
    alice = await s.user("alice", device_name="phone")
    other = s.client()
    other.user = alice.user_id
    login = expect(await other.login(PASSWORD, device_name="laptop"), LoginResponse, "second login")
    r = expect(await alice.devices(), DevicesResponse, "devices()")
    names = {d.id: d.display_name for d in r.devices}
    check(names.get(alice.device_id) == "phone", f"devices: {names} (want {alice.device_id}: phone)")
    check(names.get(login.device_id) == "laptop", f"devices: {names} (want {login.device_id}: laptop)")


async def typing_receipts(s: Scenario):
    alice, bob, room_id = await shared_room(s)
    expect(await alice.room_typing(room_id, True, timeout=10000), RoomTypingResponse, "alice types")

    def typing(r):
        return next((e for e in ephemeral(r, room_id) if isinstance(e, TypingNoticeEvent) and alice.user_id in e.users), None)

    await sync_until(bob, typing, "bob sees alice typing")
    event_id = await send_text(alice, room_id, "read me")
    await sync_until(bob, lambda r: any(e.event_id == event_id for e in timeline(r, room_id)), "bob gets the message")
    expect(await bob.update_receipt_marker(room_id, event_id), UpdateReceiptMarkerResponse, "bob sends a read receipt")

    def receipt(r):
        for e in ephemeral(r, room_id):
            if isinstance(e, ReceiptEvent):
                for rc in e.receipts:
                    if rc.event_id == event_id and rc.user_id == bob.user_id and rc.receipt_type == "m.read":
                        return rc
        return None

    await sync_until(alice, receipt, "alice sees bob's read receipt")


async def invite_first_sync(s: Scenario):
    """The invitee's first sync after the inviter's request returned already shows the invite."""
    alice, bob = await s.user("alice"), await s.user("bob")
    await sync(bob, "bob's initial sync")
    for round in range(1, 4):
        room_id = await create_room(alice, f"round {round}: createRoom with invite", invite=[bob.user_id])
        r = await sync(bob, f"round {round}: bob's next sync")
        check(room_id in r.rooms.invite, f"round {round}: invite from createRoom missing from bob's first sync after it (invites: {list(r.rooms.invite)})")
        room_id = await create_room(alice, f"round {round}: createRoom")
        expect(await alice.room_invite(room_id, bob.user_id), RoomInviteResponse, f"round {round}: invite")
        r = await sync(bob, f"round {round}: bob's next sync")
        check(room_id in r.rooms.invite, f"round {round}: invite from /invite missing from bob's first sync after it (invites: {list(r.rooms.invite)})")


async def profile_presence(s: Scenario):
    alice, bob = await s.user("alice"), await s.user("bob")
    expect(await alice.set_displayname("Alice Nio"), ProfileSetDisplayNameResponse, "set_displayname")
    expect(await alice.set_avatar("mxc://example.org/avatar"), ProfileSetAvatarResponse, "set_avatar")
    name = expect(await bob.get_displayname(alice.user_id), ProfileGetDisplayNameResponse, "bob get_displayname(alice)")
    check(name.displayname == "Alice Nio", f"displayname {name.displayname!r}")
    profile = expect(await bob.get_profile(alice.user_id), ProfileGetResponse, "bob get_profile(alice)")
    check((profile.displayname, profile.avatar_url) == ("Alice Nio", "mxc://example.org/avatar"), f"profile {profile.displayname!r} {profile.avatar_url!r}")
    expect(await alice.set_presence("online", "testing"), PresenceSetResponse, "set_presence")
    presence = expect(await alice.get_presence(alice.user_id), PresenceGetResponse, "get_presence")
    check(presence.presence == "online" and presence.status_msg == "testing", f"presence {presence.presence} {presence.status_msg!r}")


async def state_members_leave(s: Scenario):
    alice, bob, room_id = await shared_room(s)
    expect(await alice.room_put_state(room_id, "org.example.settings", {"colour": "blue"}, state_key="k"), RoomPutStateResponse, "put state")
    got = expect(await bob.room_get_state_event(room_id, "org.example.settings", "k"), RoomGetStateEventResponse, "bob gets the state event")
    check(got.content == {"colour": "blue"}, f"state content {got.content}")
    state = expect(await bob.room_get_state(room_id), RoomGetStateResponse, "bob gets the room state")
    check(any(e.get("type") == "org.example.settings" and e.get("state_key") == "k" for e in state.events), "room state lacks the event")
    members = expect(await alice.joined_members(room_id), JoinedMembersResponse, "joined_members")
    check({m.user_id for m in members.members} == {alice.user_id, bob.user_id}, f"members {[m.user_id for m in members.members]}")
    event_id = await send_text(alice, room_id, "context")
    ctx = expect(await bob.room_context(room_id, event_id, limit=2), RoomContextResponse, "room_context")
    check(ctx.event is not None and ctx.event.event_id == event_id, "context: the event itself")
    expect(await bob.room_leave(room_id), RoomLeaveResponse, "bob leaves")
    await sync_until(bob, lambda r: room_id in r.rooms.leave, "bob's sync shows the room left")
    expect(await bob.room_forget(room_id), RoomForgetResponse, "bob forgets")
    rooms = expect(await bob.joined_rooms(), JoinedRoomsResponse, "joined_rooms")
    check(room_id not in rooms.rooms, f"joined_rooms still has {room_id}")


async def filter_logout(s: Scenario):
    alice = await s.user("alice")
    room_id = await create_room(alice, "create a room")
    await send_text(alice, room_id, "one")
    await send_text(alice, room_id, "two")
    f = expect(await alice.upload_filter(room={"timeline": {"limit": 1}}), UploadFilterResponse, "upload_filter")
    fresh = s.client()
    fresh.access_token, fresh.user_id, fresh.device_id = alice.access_token, alice.user_id, alice.device_id
    r = await sync(fresh, "initial sync with the stored filter", sync_filter=f.filter_id)
    events = r.rooms.join[room_id].timeline.events
    check(len(events) == 1 and isinstance(events[0], RoomMessageText) and events[0].body == "two", f"filtered timeline {[type(e).__name__ for e in events]}")
    check(r.rooms.join[room_id].timeline.limited, "a timeline cut by the filter must be limited")
    expect(await alice.logout(), LogoutResponse, "logout")
    after = await fresh.whoami()
    check(isinstance(after, WhoamiError) and after.status_code == "M_UNKNOWN_TOKEN", f"whoami after logout: {after}")


SCENARIOS = {
    "register-login": register_login,
    "rooms-send": rooms_send,
    "messages-from-sync-token": messages_from_sync_token,
    "redact-v12": redact_v12,
    "devices": devices,
    "typing-receipts": typing_receipts,
    "invite-first-sync": invite_first_sync,
    "profile-presence": profile_presence,
    "state-members-leave": state_members_leave,
    "filter-logout": filter_logout,
}


async def run(base_url: str, name: str) -> dict:
    s = Scenario(base_url, name)
    warnings = Warnings()
    logging.getLogger().addHandler(warnings)
    t = time.monotonic()
    try:
        await asyncio.wait_for(SCENARIOS[name](s), SCENARIO_TIMEOUT_S)
        error = None
    except Failure as e:
        error = str(e)
    except asyncio.TimeoutError:
        error = f"timed out after {SCENARIO_TIMEOUT_S} s"
    except Exception as e:  # an exception inside the client library: reported with its origin
        error = f"{type(e).__name__}: {e} at {traceback.extract_tb(e.__traceback__)[-1].name}"
    finally:
        await s.close()
        logging.getLogger().removeHandler(warnings)
    if error is not None and warnings.messages:
        error += f" (nio logged: {'; '.join(dict.fromkeys(warnings.messages))})"
    return {"client": "nio", "scenario": name, "ok": error is None, "ms": round((time.monotonic() - t) * 1000), "error": error}


async def main(argv: list[str]) -> int:
    base_url, names = argv[0], argv[1:] or list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        print(f"unknown scenario(s) {unknown}; known: {list(SCENARIOS)}", file=sys.stderr)
        return 2
    for name in names:
        print(json.dumps(await run(base_url, name)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
