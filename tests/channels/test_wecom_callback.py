"""The receiving half of the WeCom callback: verification, decryption, replay protection, safe XML, mapping."""

from __future__ import annotations

import base64
import random
import struct

import pytest
from wechatpy.enterprise.crypto import PrpCrypto

from bot.clock import ManualClock
from bot.domain.messages import InboundKind
from bot.handlers import wecom_callback
from bot.handlers.wecom_callback import CallbackRejected, WeComCallback, WeComEvent, WeComKind, to_inbound
from tests.wecom_client import (
    aes_key_bytes,
    encrypt,
    encrypt_callback,
    enter_agent_xml,
    event_xml,
    image_xml,
    location_xml,
    make_aes_key,
    menu_click_xml,
    outer_xml,
    sign,
    signed_query,
    template_card_event_xml,
    text_xml,
    url_verification_query,
    voice_xml,
)

TOKEN = "jinlinToken2026"
AES_KEY = make_aes_key(b"test")
CORP = "wwcorp"
USER = "zhangsan"

BOMB = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">'
        '<!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">'
        '<!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;"><!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;">]>'
        '<xml><ToUserName>wwcorp</ToUserName><FromUserName>zhangsan</FromUserName><CreateTime>1700000000</CreateTime>'
        '<MsgType>text</MsgType><Content>&h;</Content><MsgId>1</MsgId></xml>')
XXE = ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
       '<xml><ToUserName>wwcorp</ToUserName><FromUserName>zhangsan</FromUserName><CreateTime>1700000000</CreateTime>'
       '<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>1</MsgId></xml>')
DTD_ONLY = ('<!DOCTYPE xml><xml><ToUserName>wwcorp</ToUserName><FromUserName>zhangsan</FromUserName>'
            '<CreateTime>1700000000</CreateTime><MsgType>text</MsgType><Content>hi</Content><MsgId>1</MsgId></xml>')


@pytest.fixture
def callback(clock: ManualClock) -> WeComCallback:
    return WeComCallback(TOKEN, AES_KEY, CORP, clock)


def now(clock: ManualClock) -> int:
    return int(clock.now().timestamp())


def post(clock: ManualClock, inner: str, nonce: str = "n1", *, timestamp: int | None = None,
         corp_id: str = CORP) -> tuple[dict[str, str], bytes]:
    return encrypt_callback(TOKEN, AES_KEY, corp_id, inner, now(clock) if timestamp is None else timestamp, nonce)


def signed_body(clock: ManualClock, ciphertext: str, nonce: str = "n1") -> tuple[dict[str, str], bytes]:
    """A correctly signed request around an arbitrary (possibly broken) ciphertext."""
    return signed_query(TOKEN, now(clock), nonce, ciphertext), outer_xml(ciphertext, CORP)


def raw_ciphertext(plain: bytes) -> str:
    """AES-CBC of `plain` exactly as given (no framing, no padding added): for broken frames."""
    cipher = PrpCrypto(aes_key_bytes(AES_KEY)).cipher
    return base64.b64encode(cipher.encrypt(plain)).decode("ascii")


def rejected(callback: WeComCallback, query: dict[str, str], body: bytes) -> CallbackRejected:
    with pytest.raises(CallbackRejected) as caught:
        callback.open(query, body)
    assert caught.value.reason != wecom_callback._UNEXPECTED, "rejected only by the catch-all"
    return caught.value


# -- URL verification ------------------------------------------------------------------------------------------


def test_url_verification_returns_the_decrypted_echostr(callback: WeComCallback, clock: ManualClock) -> None:
    query = url_verification_query(TOKEN, AES_KEY, CORP, "1616140317555161061", now(clock), "1597212914")
    assert callback.verify_url(query) == "1616140317555161061"


def test_url_verification_with_a_bad_signature_is_403(callback: WeComCallback, clock: ManualClock) -> None:
    query = url_verification_query("another-token", AES_KEY, CORP, "12345", now(clock), "n")
    with pytest.raises(CallbackRejected) as caught:
        callback.verify_url(query)
    assert caught.value.status == 403
    query = url_verification_query(TOKEN, AES_KEY, CORP, "12345", now(clock), "n")
    with pytest.raises(CallbackRejected) as caught:
        callback.verify_url({**query, "echostr": query["echostr"][:-4] + "AAAA"})
    assert caught.value.status == 403


def test_url_verification_rejects_missing_stale_and_foreign(callback: WeComCallback, clock: ManualClock) -> None:
    query = url_verification_query(TOKEN, AES_KEY, CORP, "12345", now(clock), "n")
    for broken, status in [
        ({k: v for k, v in query.items() if k != "echostr"}, 400),
        ({k: v for k, v in query.items() if k != "msg_signature"}, 400),
        (url_verification_query(TOKEN, AES_KEY, CORP, "12345", now(clock) - 301, "n"), 403),
        (url_verification_query(TOKEN, AES_KEY, "wwother", "12345", now(clock), "n"), 403),
    ]:
        with pytest.raises(CallbackRejected) as caught:
            callback.verify_url(broken)
        assert caught.value.status == status


# -- messages and events ---------------------------------------------------------------------------------------


def test_a_text_message_decrypts_to_the_event(callback: WeComCallback, clock: ManualClock) -> None:
    event = callback.open(*post(clock, text_xml(USER, "楼道灯坏了 ]]> <b>&amp;", msg_id=42)))
    assert event == WeComEvent(user_id=USER, kind=WeComKind.TEXT, create_time=1_700_000_000, dedup_key="42",
                               agent_id="1000002", text="楼道灯坏了 ]]> <b>&amp;", msg_type="text")
    inbound = to_inbound(event)
    assert (inbound.kind, inbound.text, inbound.event_id) == (InboundKind.TEXT, event.text, "wecom:42")
    assert (inbound.sender.channel, inbound.sender.user_id, inbound.sender.chat_id) == ("wecom", USER, USER)


def test_a_template_card_button_gives_its_key_as_token(callback: WeComCallback, clock: ManualClock) -> None:
    inner = template_card_event_xml(USER, "rep:accept:17", task_id="t-99", response_code="RC", create_time=1_700_000_5)
    event = callback.open(*post(clock, inner))
    assert event is not None
    assert (event.kind, event.token, event.task_id, event.response_code) == (WeComKind.BUTTON, "rep:accept:17",
                                                                             "t-99", "RC")
    assert event.dedup_key == f"{USER}:17000005:template_card_event:rep:accept:17"
    inbound = to_inbound(event)
    assert (inbound.kind, inbound.token, inbound.event_id) == (InboundKind.BUTTON, "rep:accept:17",
                                                               f"wecom:{event.dedup_key}")


def test_a_card_event_without_key_deduplicates_on_the_task(callback: WeComCallback, clock: ManualClock) -> None:
    event = callback.open(*post(clock, template_card_event_xml(USER, "", task_id="t-7")))
    assert event is not None and event.dedup_key == f"{USER}:1700000000:template_card_event:t-7"


def test_menu_click_enter_and_media(callback: WeComCallback, clock: ManualClock) -> None:
    click = callback.open(*post(clock, menu_click_xml(USER, "menu:report"), "a"))
    assert click is not None and (click.kind, click.token) == (WeComKind.BUTTON, "menu:report")
    enter = callback.open(*post(clock, enter_agent_xml(USER), "b"))
    assert enter is not None and enter.kind is WeComKind.ENTER
    assert enter.dedup_key == f"{USER}:1700000000:enter_agent:"
    assert to_inbound(enter).kind is InboundKind.OTHER  # the engine's home prompt when idle; never resets a flow
    image = callback.open(*post(clock, image_xml(USER, "MEDIA_img", pic_url="http://evil.example/x"), "c"))
    assert image is not None and (image.kind, image.media_id) == (WeComKind.IMAGE, "MEDIA_img")
    assert (to_inbound(image).kind, to_inbound(image).media_ref) == (InboundKind.PHOTO, "MEDIA_img")
    voice = callback.open(*post(clock, voice_xml(USER, "MEDIA_voice"), "d"))
    assert voice is not None and (voice.kind, voice.media_id) == (WeComKind.VOICE, "MEDIA_voice")
    assert (to_inbound(voice).kind, to_inbound(voice).media_ref) == (InboundKind.VOICE, "MEDIA_voice")
    location = callback.open(*post(clock, location_xml(USER), "e"))
    assert location is not None and location.kind is WeComKind.OTHER
    assert to_inbound(location).kind is InboundKind.OTHER


def test_events_jinlin_ignores_are_none_but_still_recorded(callback: WeComCallback, clock: ManualClock) -> None:
    for number, name in enumerate(["subscribe", "unsubscribe", "LOCATION", "view", "change_contact"]):
        query, body = post(clock, event_xml(USER, name, EventKey="k"), f"ignored-{number}")
        assert callback.open(query, body) is None
        assert callback.open(query, body) is None  # WeCom's retry of it: still nothing to do
        other = post(clock, event_xml(USER, name, EventKey="k"), f"ignored-{number}", timestamp=int(query["timestamp"]))
        assert rejected(callback, *other).status == 403  # the pair with another ciphertext
    assert callback.seen_count() == 5


@pytest.mark.parametrize(("text", "command", "argument"), [
    ("/start", "start", ""),
    ("/Invite building_leader C01-A-B1 safety", "invite", "building_leader C01-A-B1 safety"),
    ("／菜单", "菜单", ""),
    ("/start\ninv-abc ", "start", "inv-abc"),
    ("/", "", ""),
])
def test_a_slash_text_is_a_command(text: str, command: str, argument: str) -> None:
    event = WeComEvent(user_id=USER, kind=WeComKind.TEXT, create_time=1, dedup_key="9", text=text)
    inbound = to_inbound(event)
    assert (inbound.kind, inbound.command, inbound.text) == (InboundKind.COMMAND, command, argument)


# -- authentication, freshness, replay -------------------------------------------------------------------------


def test_a_forged_signature_is_403_and_records_nothing(callback: WeComCallback, clock: ManualClock) -> None:
    query, body = post(clock, text_xml(USER, "hi"), "nonce-1")
    forged = {**query, "msg_signature": sign("guessed-token", query["timestamp"], "nonce-1", "x")}
    assert rejected(callback, forged, body).status == 403
    assert rejected(callback, {**query, "msg_signature": "not-hex"}, body).status == 403
    other_key = encrypt_callback(TOKEN, make_aes_key(b"other"), CORP, text_xml(USER, "hi"), now(clock), "nonce-1")
    assert rejected(callback, query, other_key[1]).status == 403  # the body swapped under a valid query
    assert callback.seen_count() == 0
    assert callback.open(query, body) is not None  # the genuine request with that nonce still goes through
    assert callback.seen_count() == 1


def test_the_signature_is_compared_in_constant_time(callback: WeComCallback, clock: ManualClock,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = wecom_callback.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(wecom_callback.hmac, "compare_digest", spy)
    query, body = post(clock, text_xml(USER, "hi"))
    callback.open(query, body)
    assert (query["msg_signature"].encode(), query["msg_signature"].encode()) in calls


@pytest.mark.parametrize("offset", [-301, 301, -100_000, 100_000])
def test_a_timestamp_outside_the_window_is_403(callback: WeComCallback, clock: ManualClock, offset: int) -> None:
    query, body = post(clock, text_xml(USER, "hi"), timestamp=now(clock) + offset)
    assert rejected(callback, query, body).status == 403
    assert callback.seen_count() == 0


@pytest.mark.parametrize("offset", [-300, 300])
def test_the_window_edges_are_accepted(callback: WeComCallback, clock: ManualClock, offset: int) -> None:
    assert callback.open(*post(clock, text_xml(USER, "hi"), timestamp=now(clock) + offset)) is not None


def test_a_retry_passes_a_reused_nonce_is_403_and_memory_is_pruned(callback: WeComCallback,
                                                                    clock: ManualClock) -> None:
    start = now(clock)
    query, body = post(clock, text_xml(USER, "hi"), "nonce-r")
    first = callback.open(query, body)
    assert first is not None
    assert callback.open(query, body) == first  # WeCom's retry, byte for byte: the same event (acted on once)
    other = post(clock, text_xml(USER, "hi"), "nonce-r", timestamp=start)  # another ciphertext, same pair
    assert rejected(callback, *other).status == 403
    clock.advance(200)
    assert callback.open(query, body) == first  # still inside the window
    assert rejected(callback, *other).status == 403
    assert callback.open(*post(clock, text_xml(USER, "hi"), "nonce-r")) is not None  # same nonce, new timestamp
    future = now(clock) + 290
    assert callback.open(*post(clock, text_xml(USER, "hi"), "nonce-f", timestamp=future)) is not None
    assert callback.seen_count() == 3
    clock.advance(301)
    assert callback.seen_count() == 1  # the future-dated one is kept as long as its timestamp could pass
    assert rejected(callback, *post(clock, text_xml(USER, "hi"), "nonce-f", timestamp=future)).status == 403
    assert rejected(callback, query, body).status == 403  # the first one is stale now
    clock.advance(300)
    assert callback.seen_count() == 0


def test_a_longer_nonce_ttl_is_honoured(clock: ManualClock) -> None:
    callback = WeComCallback(TOKEN, AES_KEY, CORP, clock, window_seconds=60, nonce_ttl=3600)
    callback.open(*post(clock, text_xml(USER, "hi")))
    clock.advance(3599)
    assert callback.seen_count() == 1
    clock.advance(1)
    assert callback.seen_count() == 0


def test_another_corps_frame_is_403(callback: WeComCallback, clock: ManualClock) -> None:
    query, body = post(clock, text_xml(USER, "hi"), corp_id="wwintruder")
    assert rejected(callback, query, body).status == 403
    query, body = post(clock, text_xml(USER, "hi"), corp_id=CORP + "x")
    assert rejected(callback, query, body).status == 403
    assert callback.seen_count() == 0


# -- hostile and malformed input -------------------------------------------------------------------------------


def test_an_oversized_body_is_413_before_parsing(callback: WeComCallback, clock: ManualClock) -> None:
    # parsed, either body would be a 400 (an entity bomb; no query at all): 413 shows the size was checked first
    query, _ = post(clock, text_xml(USER, "hi"))
    body = BOMB.encode() + b" " * (64 * 1024)
    with pytest.raises(CallbackRejected) as caught:
        callback.open(query, body)
    assert caught.value.status == 413
    with pytest.raises(CallbackRejected) as caught:
        callback.open({}, b"x" * (64 * 1024 + 1))
    assert caught.value.status == 413


def test_the_size_cap_is_configurable(clock: ManualClock) -> None:
    callback = WeComCallback(TOKEN, AES_KEY, CORP, clock, max_body=100)
    query, body = post(clock, text_xml(USER, "hi"))
    assert rejected(callback, query, body).status == 413


@pytest.mark.parametrize("document", [BOMB, XXE, DTD_ONLY], ids=["billion-laughs", "external-entity", "dtd"])
def test_dtds_and_entities_are_400_outside_and_inside(callback: WeComCallback, clock: ManualClock,
                                                      document: str) -> None:
    query, _ = post(clock, text_xml(USER, "hi"))
    assert rejected(callback, query, document.encode()).status == 400  # as the outer body
    query, body = post(clock, document)  # encrypted and signed: it reaches the inner parser
    assert rejected(callback, query, body).status == 400
    assert callback.seen_count() == 0


def test_an_entity_around_encrypt_cannot_smuggle_a_ciphertext(callback: WeComCallback, clock: ManualClock) -> None:
    query, body = post(clock, text_xml(USER, "hi"))
    ciphertext = body.split(b"<Encrypt><![CDATA[")[1].split(b"]]>")[0].decode()
    smuggled = f'<!DOCTYPE xml [<!ENTITY e "{ciphertext}">]><xml><Encrypt>&e;</Encrypt></xml>'.encode()
    assert rejected(callback, query, smuggled).status == 400


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x08", "\x0b", "\x1f", "\ufffe"])
def test_control_characters_are_400_outside_and_inside(callback: WeComCallback, clock: ManualClock,
                                                       char: str) -> None:
    query, body = post(clock, text_xml(USER, "hi"))
    assert rejected(callback, query, body.replace(b"<Encrypt>", f"<Encrypt>{char}".encode())).status == 400
    assert rejected(callback, query, body.replace(b"wwcorp", f"ww{char}corp".encode())).status == 400
    query, body = post(clock, text_xml(USER, f"a{char}b"), "inner")
    assert rejected(callback, query, body).status == 400
    query, body = post(clock, text_xml(USER, "x").replace("<Content>", "<Content>&#1;"), "ref")
    assert rejected(callback, query, body).status == 400
    assert callback.seen_count() == 0


def test_tab_newline_and_carriage_return_are_fine(callback: WeComCallback, clock: ManualClock) -> None:
    event = callback.open(*post(clock, text_xml(USER, "a\tb\nc")))
    assert event is not None and event.text == "a\tb\nc"


@pytest.mark.parametrize("ciphertext", [
    "",
    "!!!!",
    "QUJD",  # base64 of three bytes: not an AES block
    "QUJDRA=",  # bad padding
    "A" * 22 + "==",  # 16 bytes of zeros: a block, but the plaintext is garbage
], ids=["empty", "not-base64", "short", "bad-base64-padding", "garbage-block"])
def test_garbage_ciphertext_is_400(callback: WeComCallback, clock: ManualClock, ciphertext: str) -> None:
    query, body = signed_body(clock, ciphertext)
    assert rejected(callback, query, body).status == 400


def test_truncated_ciphertext_is_400(callback: WeComCallback, clock: ManualClock) -> None:
    ciphertext = encrypt(AES_KEY, CORP, text_xml(USER, "hello " * 20))
    for cut in (4, 24, 44, len(ciphertext) // 2):
        query, body = signed_body(clock, ciphertext[:-cut], f"cut-{cut}")
        assert rejected(callback, query, body).status == 400
    query, body = signed_body(clock, ciphertext[:-44] + "==", "cut")
    assert rejected(callback, query, body).status == 400


def _pkcs7(data: bytes) -> bytes:
    count = 32 - len(data) % 32
    return data + bytes([count]) * count


def _frame(message: bytes, receive_id: bytes = CORP.encode(), length: int | None = None) -> bytes:
    return bytes(16) + struct.pack(">I", len(message) if length is None else length) + message + receive_id


def _uneven(data: bytes) -> bytes:
    padded = _pkcs7(data + b"!" if len(data) % 32 == 31 else data)  # at least two padding bytes
    return padded[:-2] + bytes([padded[-2] ^ 1]) + padded[-1:]


@pytest.mark.parametrize(("plain", "status"), [
    (_pkcs7(_frame(b"<xml/>"))[:-1] + b"\x21", 400),  # padding above 32
    (_pkcs7(_frame(b"<xml/>"))[:-1] + b"\x00", 400),  # padding of zero
    (_uneven(_frame(b"<xml/>")), 400),  # padding bytes that differ
    (_pkcs7(_frame(b"<xml/>", length=9999)), 400),  # length past the end
    (_pkcs7(bytes(16) + b"\x00\x00"), 400),  # frame too short for its length
    (_pkcs7(_frame(b"\xff\xfe\xfd\xfc")), 400),  # not UTF-8
    (_pkcs7(_frame(b"")), 400),  # empty message
    (_pkcs7(_frame(text_xml(USER, "hi").encode(), b"wwcorq")), 403),  # another receive id
    (_pkcs7(_frame(text_xml(USER, "hi").encode(), b"")), 403),  # no receive id
], ids=["pad-33", "pad-0", "pad-uneven", "length", "short-frame", "not-utf8", "empty", "receive-id", "no-id"])
def test_broken_frames(callback: WeComCallback, clock: ManualClock, plain: bytes, status: int) -> None:
    assert len(plain) % 16 == 0
    query, body = signed_body(clock, raw_ciphertext(plain))
    assert rejected(callback, query, body).status == status


def test_a_hand_built_frame_is_accepted(callback: WeComCallback, clock: ManualClock) -> None:
    plain = _pkcs7(_frame(text_xml(USER, "手工").encode()))
    event = callback.open(*signed_body(clock, raw_ciphertext(plain)))
    assert event is not None and event.text == "手工"


@pytest.mark.parametrize("body", [
    b"",
    b"hello, not xml",
    b"{\"Encrypt\": \"abc\"}",
    b"<xml><Encrypt>abc</Encrypt>",  # truncated
    b"<root><Encrypt>abc</Encrypt></root>",  # not <xml>
    b"<xml><ToUserName>wwcorp</ToUserName></xml>",  # no Encrypt
    b"<xml><Encrypt>\xff\xfe</Encrypt></xml>",  # not UTF-8
    "<?xml version='1.0' encoding='UTF-16'?><xml><Encrypt>abc</Encrypt></xml>".encode("utf-16"),
    b"\x00" * 100,
], ids=["empty", "text", "json", "truncated", "root", "no-encrypt", "latin", "utf16", "nul"])
def test_non_xml_bodies_are_400(callback: WeComCallback, clock: ManualClock, body: bytes) -> None:
    query, _ = post(clock, text_xml(USER, "hi"))
    assert rejected(callback, query, body).status == 400


@pytest.mark.parametrize("drop_or_change", [
    {"msg_signature": None}, {"timestamp": None}, {"nonce": None},
    {"timestamp": "１７００"}, {"timestamp": "١٢٣"}, {"timestamp": " 12"}, {"timestamp": "1e9"}, {"timestamp": "-5"},
    {"timestamp": "9" * 5000}, {"nonce": "n" * 129},
], ids=lambda change: ",".join(change))
def test_a_malformed_query_is_400(callback: WeComCallback, clock: ManualClock,
                                  drop_or_change: dict[str, str | None]) -> None:
    query, body = post(clock, text_xml(USER, "hi"))
    for name, value in drop_or_change.items():
        if value is None:
            del query[name]
        else:
            query[name] = value
    assert rejected(callback, query, body).status == 400


@pytest.mark.parametrize("inner", [
    "<xml><MsgType>text</MsgType><CreateTime>1</CreateTime><Content>hi</Content></xml>",  # no FromUserName
    "<xml><FromUserName>u</FromUserName><CreateTime>1</CreateTime></xml>",  # no MsgType
    "<xml><FromUserName>u</FromUserName><MsgType>text</MsgType><CreateTime>soon</CreateTime></xml>",
    "<xml><FromUserName>u</FromUserName><MsgType>text</MsgType></xml>",  # no CreateTime
    "<notxml/>",
    "plain words",
    "",
], ids=["no-user", "no-type", "bad-time", "no-time", "root", "words", "empty"])
def test_a_malformed_inner_message_is_400(callback: WeComCallback, clock: ManualClock, inner: str) -> None:
    assert rejected(callback, *post(clock, inner)).status == 400
    assert callback.seen_count() == 0


def test_the_configuration_is_checked(clock: ManualClock) -> None:
    for token, key, corp in [("", AES_KEY, CORP), (TOKEN, AES_KEY[:-1], CORP), (TOKEN, AES_KEY + "A", CORP),
                             (TOKEN, "!" * 43, CORP), (TOKEN, AES_KEY, "")]:
        with pytest.raises(ValueError):
            WeComCallback(token, key, corp, clock)


# -- fuzz ------------------------------------------------------------------------------------------------------


def _mutate(rng: random.Random, data: bytes) -> bytes:
    specials = [b"<", b">", b"&", b"]]>", b"<!DOCTYPE x>", b"&#0;", b"\x00", b"\xff", b"=", b"+", b"/", b"A" * 8]
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        where = rng.randrange(len(out) + 1)
        action = rng.randrange(6)
        if action == 0 and out:
            out[min(where, len(out) - 1)] ^= 1 << rng.randrange(8)
        elif action == 1:
            out[where:where] = bytes([rng.randrange(256)])
        elif action == 2:
            del out[where:where + rng.randint(1, 16)]
        elif action == 3:
            del out[where:]
        elif action == 4:
            out[where:where] = rng.choice(specials)
        else:
            start = rng.randrange(len(out) + 1)
            out[where:where] = out[start:start + rng.randint(1, 32)]
    return bytes(out)


def _outcome(callback: WeComCallback, query: dict[str, str], body: bytes) -> str:
    try:
        event = callback.open(query, body)
    except CallbackRejected as error:
        assert error.status in (400, 403, 413)
        assert error.reason != wecom_callback._UNEXPECTED, f"unexpected error for {query!r} {body!r}"
        return str(error.status)
    assert event is None or isinstance(event, WeComEvent)
    if event is not None:
        to_inbound(event)
    return "event"


def test_fuzzed_requests_only_ever_give_an_event_or_a_rejection(callback: WeComCallback,
                                                                clock: ManualClock) -> None:
    rng = random.Random(20261127)
    inner = template_card_event_xml(USER, "rep:accept:17")
    seen: dict[str, int] = {}
    for number in range(300):  # the outer body mutated
        query, body = post(clock, inner, f"outer-{number}")
        outcome = _outcome(callback, query, _mutate(rng, body))
        seen[outcome] = seen.get(outcome, 0) + 1
    for number in range(300):  # the plaintext mutated, then genuinely encrypted and signed
        outcome = _outcome(callback, *post(clock, _mutate(rng, inner.encode()).decode("utf-8", "replace"),
                                           f"inner-{number}"))
        seen[outcome] = seen.get(outcome, 0) + 1
    ciphertext = base64.b64decode(encrypt(AES_KEY, CORP, inner))
    for number in range(300):  # the ciphertext mutated, then base64'd and signed
        garbled = _mutate(rng, ciphertext)
        if number % 2:  # whole AES blocks, so that decryption runs and the frame checks are reached
            garbled += bytes(-len(garbled) % 16)
        mutated = base64.b64encode(garbled).decode("ascii")
        outcome = _outcome(callback, *signed_body(clock, mutated, f"cipher-{number}"))
        seen[outcome] = seen.get(outcome, 0) + 1
    query, body = post(clock, inner, "query")
    for _ in range(100):  # the query mutated
        fuzzed = {key: _mutate(rng, value.encode()).decode("utf-8", "replace") for key, value in query.items()}
        outcome = _outcome(callback, fuzzed, body)
        seen[outcome] = seen.get(outcome, 0) + 1
    assert {"event", "400", "403"} <= set(seen), seen
