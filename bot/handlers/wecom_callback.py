"""WeCom (企业微信) self-built application: the receiving half of the callback (接收消息与事件).

Security-critical and channel-neutral: `WeComCallback` turns the query and body of WeCom's callback requests into a
typed `WeComEvent` (or rejects them with `CallbackRejected`, whose `status` is the HTTP answer); `to_inbound`
translates an event into the neutral `Inbound`. No engine, no HTTP server here.

A POST is checked in this order, so that a request whose signature fails leaves nothing behind:

1. body size (413) — before anything is parsed;
2. query parameters present and well-formed (400);
3. outer XML parsed with defusedxml: no DTD, no entities, no external references; XML 1.0's forbidden control
   characters rejected (400);
4. msg_signature = SHA1 of the sorted (token, timestamp, nonce, Encrypt), compared in constant time (403);
5. timestamp within ±window of the clock (403);
6. (timestamp, nonce) not seen before with another ciphertext (403);
7. AES-256-CBC decryption with wechatpy's cipher, strict PKCS#7 (block 32) and frame checks (400);
8. the frame's receive id equals the corp id (403);
9. inner XML parsed as safely as the outer one (400), then mapped to an event.

The (timestamp, nonce) pair is recorded, with a digest of its ciphertext, only when the request passed every check:
a rejected request records nothing. WeCom retries a callback it got no answer to within 5 s byte for byte (same
signature, timestamp, nonce and ciphertext): such a redelivery passes again, and the receiver acts on an event once
by its `dedup_key` (MsgId). The same nonce and timestamp with another ciphertext are refused. Any malformed input
becomes `CallbackRejected(400)`, never another exception type.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import heapq
import hmac
import logging
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Protocol
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from wechatpy.enterprise.crypto import PrpCrypto

from bot.domain.messages import Inbound, InboundKind, Sender, text_inbound

log = logging.getLogger(__name__)

CHANNEL = "wecom"
MAX_BODY = 64 * 1024
WINDOW_SECONDS = 300

# Characters XML 1.0 forbids (C0 controls other than tab, line feed and carriage return; U+FFFE, U+FFFF; lone
# surrogates). Expat refuses them too; checking first gives one clear reason and does not depend on the parser.
_FORBIDDEN_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_TIMESTAMP = re.compile(r"[0-9]{1,15}")
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_MAX_NONCE = 128  # WeCom's nonces are short; a bound keeps the replay memory small
_RANDOM_PREFIX = 16  # bytes of random data before the length in a decrypted frame
_PKCS7_BLOCK = 32  # WeCom pads to 32 bytes, not AES's 16
_UNEXPECTED = "malformed request (unexpected error)"


class CallbackRejected(Exception):
    """A callback request refused; `status` is the HTTP status to answer with (400, 403 or 413).

    `reason` is a fixed phrase for logs; it never contains anything taken from the request.
    """

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class WeComKind(StrEnum):
    TEXT = "text"
    IMAGE = "image"
    VOICE = "voice"
    BUTTON = "button"  # a template card button or a menu item (`click`)
    ENTER = "enter"  # the member entered the application (`enter_agent`)
    OTHER = "other"  # a message type Jinlin cannot use (location, video, file, link ...)


@dataclass(frozen=True, slots=True)
class WeComEvent:
    """One decrypted, authenticated message or event from a member."""

    user_id: str  # FromUserName: the member's userid
    kind: WeComKind
    create_time: int  # CreateTime, seconds since the epoch
    dedup_key: str  # MsgId, or user:time:event:key for events (which have no MsgId)
    agent_id: str = ""  # AgentID as sent (digits); "" when absent
    text: str = ""  # Content of a text message, unstripped
    media_id: str = ""  # MediaId of an image or voice message (downloaded later by the channel)
    token: str = ""  # EventKey: the pressed button's key (template card) or menu item's key (click)
    task_id: str = ""  # TaskId of a template card event
    response_code: str = ""  # ResponseCode of a template card event (needed to update that card)
    msg_type: str = ""  # MsgType as sent, for logs
    event: str = ""  # Event as sent ("" for messages), for logs


@dataclass(frozen=True, slots=True)
class _Seen:
    """A (timestamp, nonce) pair's record: when it may be forgotten (epoch seconds), and its ciphertext's SHA-256."""

    expires: float
    digest: bytes


class _Now(Protocol):
    def now(self) -> datetime: ...


class WeComCallback:
    """Verifies, decrypts and parses WeCom's callback requests for one application.

    `token` and `aes_key` (the 43-character EncodingAESKey) are the application's 接收消息 settings; `corp_id` is the
    enterprise's CorpID, which WeCom puts in every encrypted frame. `clock.now()` must return an aware datetime.
    Requests whose timestamp is more than `window_seconds` away from the clock are refused; a (timestamp, nonce) pair
    is refused with any other ciphertext for at least `nonce_ttl` seconds (default: the window) and in any case as
    long as its timestamp would still pass the window check; the identical request (a retry) passes. Thread-safe;
    `open` never awaits, so within one event loop the replay check and its record are atomic.
    """

    def __init__(self, token: str, aes_key: str, corp_id: str, clock: _Now, max_body: int = MAX_BODY,
                 window_seconds: int = WINDOW_SECONDS, nonce_ttl: int | None = None) -> None:
        if not token:
            raise ValueError("the WeCom callback token is empty")
        if not corp_id:
            raise ValueError("the WeCom corp id is empty")
        if len(aes_key) != 43 or not _BASE64.fullmatch(aes_key):
            raise ValueError("the WeCom EncodingAESKey must be 43 characters of base64")
        key = base64.b64decode(aes_key + "=")
        if len(key) != 32:
            raise ValueError("the WeCom EncodingAESKey must decode to 32 bytes")
        if max_body <= 0 or window_seconds <= 0 or (nonce_ttl is not None and nonce_ttl <= 0):
            raise ValueError("max_body, window_seconds and nonce_ttl must be positive")
        self._token = token.encode("utf-8")
        self._corp_id = corp_id.encode("utf-8")
        self._prp = PrpCrypto(key)  # wechatpy's AES-256-CBC (IV = first 16 key bytes); frames unpacked here
        self._clock = clock
        self.max_body = max_body
        self.window_seconds = window_seconds
        self.nonce_ttl = window_seconds if nonce_ttl is None else nonce_ttl
        self._seen: dict[tuple[int, str], _Seen] = {}  # (timestamp, nonce) -> its ciphertext and when to forget it
        self._expiry: list[tuple[float, tuple[int, str]]] = []  # heap of the same, soonest first
        self._lock = threading.Lock()

    # -- public ------------------------------------------------------------------------------------------------

    def verify_url(self, query: Mapping[str, str]) -> str:
        """GET URL verification: check msg_signature over `echostr` and return the decrypted echostr.

        The timestamp window applies here too; nonces of verification requests are not recorded (a replay
        yields only the answer already sent).
        """
        try:
            signature, timestamp, nonce = self._query(query)
            echostr = query.get("echostr", "")
            if not echostr:
                raise CallbackRejected(400, "echostr missing")
            self._check_signature(signature, timestamp, nonce, echostr)
            self._check_time(int(timestamp), self._now())
            return self._decrypt(echostr)
        except CallbackRejected:
            raise
        except Exception:
            log.exception("WeCom URL verification failed unexpectedly")
            raise CallbackRejected(400, _UNEXPECTED) from None

    def open(self, query: Mapping[str, str], body: bytes) -> WeComEvent | None:
        """POST: the event a callback request carries, None for events Jinlin ignores, else `CallbackRejected`."""
        try:
            return self._open(query, body)
        except CallbackRejected:
            raise
        except Exception:
            log.exception("WeCom callback failed unexpectedly")
            raise CallbackRejected(400, _UNEXPECTED) from None

    def seen_count(self) -> int:
        """How many (timestamp, nonce) pairs are remembered now (after pruning expired ones)."""
        with self._lock:
            self._prune(self._now())
            return len(self._seen)

    # -- steps -------------------------------------------------------------------------------------------------

    def _open(self, query: Mapping[str, str], body: bytes) -> WeComEvent | None:
        if len(body) > self.max_body:
            raise CallbackRejected(413, "body too large")
        signature, timestamp, nonce = self._query(query)
        outer = _parse_xml(_utf8(body))
        encrypt = _child_text(outer, "Encrypt").strip()
        if not encrypt:
            raise CallbackRejected(400, "Encrypt missing")
        self._check_signature(signature, timestamp, nonce, encrypt)
        now = self._now()
        moment = int(timestamp)
        self._check_time(moment, now)
        seen = _Seen(max(now + self.nonce_ttl, moment + self.window_seconds),
                     hashlib.sha256(encrypt.encode("utf-8")).digest())
        key = (moment, nonce)
        self._check_fresh(key, seen, now, record=False)
        event = _event(_parse_xml(self._decrypt(encrypt)))
        self._check_fresh(key, seen, now, record=True)  # recorded only now that every check has passed
        return event

    def _now(self) -> float:
        return self._clock.now().timestamp()

    @staticmethod
    def _query(query: Mapping[str, str]) -> tuple[str, str, str]:
        signature = query.get("msg_signature", "")
        timestamp = query.get("timestamp", "")
        nonce = query.get("nonce", "")
        if not signature or not timestamp or not nonce:
            raise CallbackRejected(400, "msg_signature, timestamp or nonce missing")
        if not _TIMESTAMP.fullmatch(timestamp):  # ASCII digits only: int() would also take "١٢" or " 12"
            raise CallbackRejected(400, "timestamp malformed")
        if len(nonce) > _MAX_NONCE:
            raise CallbackRejected(400, "nonce too long")
        return signature, timestamp, nonce

    def _check_signature(self, signature: str, timestamp: str, nonce: str, encrypt: str) -> None:
        parts = sorted([self._token, timestamp.encode("utf-8"), nonce.encode("utf-8"), encrypt.encode("utf-8")])
        expected = hashlib.sha1(b"".join(parts)).hexdigest().encode("ascii")  # WeCom's scheme: SHA1, hex
        given = signature.strip().lower().encode("utf-8", "replace")
        if not hmac.compare_digest(expected, given):
            raise CallbackRejected(403, "bad signature")

    def _check_time(self, moment: int, now: float) -> None:
        if abs(now - moment) > self.window_seconds:
            raise CallbackRejected(403, "timestamp outside the window")

    def _check_fresh(self, key: tuple[int, str], seen: _Seen, now: float, *, record: bool) -> None:
        """403 if `key` was seen with another ciphertext (the same one is WeCom retrying); with `record`, remember
        it until `seen.expires`."""
        with self._lock:
            self._prune(now)
            earlier = self._seen.get(key)
            if earlier is not None and not hmac.compare_digest(earlier.digest, seen.digest):
                raise CallbackRejected(403, "nonce reused with another message")
            if record and earlier is None:
                self._seen[key] = seen
                heapq.heappush(self._expiry, (seen.expires, key))

    def _prune(self, now: float) -> None:
        while self._expiry and self._expiry[0][0] <= now:
            expires, key = heapq.heappop(self._expiry)
            if (earlier := self._seen.get(key)) is not None and earlier.expires == expires:
                del self._seen[key]

    def _decrypt(self, encrypt: str) -> str:
        """The plaintext of an Encrypt (or echostr) value; 400 if it is not a well-formed frame, 403 for another
        corp's frame."""
        if len(encrypt) % 4 or not _BASE64.fullmatch(encrypt):
            raise CallbackRejected(400, "ciphertext is not base64")
        try:
            data = base64.b64decode(encrypt, validate=True)
        except (binascii.Error, ValueError):
            raise CallbackRejected(400, "ciphertext is not base64") from None
        if not data or len(data) % 16:
            raise CallbackRejected(400, "ciphertext length is not a multiple of the AES block")
        plain: bytes = self._prp.cipher.decrypt(data)
        pad = plain[-1]
        if not 1 <= pad <= _PKCS7_BLOCK or pad > len(plain) or plain[-pad:] != bytes([pad]) * pad:
            raise CallbackRejected(400, "bad padding")
        frame = plain[_RANDOM_PREFIX:-pad]
        if len(frame) < 4:
            raise CallbackRejected(400, "frame too short")
        length = int.from_bytes(frame[:4], "big")
        if length > len(frame) - 4:
            raise CallbackRejected(400, "frame length out of range")
        message, receive_id = frame[4:4 + length], frame[4 + length:]
        if not hmac.compare_digest(receive_id, self._corp_id):
            raise CallbackRejected(403, "wrong corp id")
        try:
            return message.decode("utf-8")
        except UnicodeDecodeError:
            raise CallbackRejected(400, "plaintext is not UTF-8") from None


# -- XML -------------------------------------------------------------------------------------------------------


def _utf8(raw: bytes) -> str:
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise CallbackRejected(400, "body is not UTF-8") from None


def _parse_xml(text: str) -> Element:
    """An `<xml>` document parsed without DTDs, entities or external references; 400 for anything else."""
    if _FORBIDDEN_XML_CHARS.search(text):
        raise CallbackRejected(400, "control character in XML")
    try:
        # A str, not bytes: an encoding declaration is then ignored (the text was decoded as UTF-8).
        root = fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise CallbackRejected(400, "DTD, entity or external reference in XML") from None
    except (ParseError, ValueError):
        raise CallbackRejected(400, "XML not well-formed") from None
    if not isinstance(root, Element) or root.tag != "xml":
        raise CallbackRejected(400, "XML root is not <xml>")
    return root


def _child_text(root: Element, tag: str) -> str:
    child = root.find(tag)
    return "" if child is None or child.text is None else child.text


# -- mapping ---------------------------------------------------------------------------------------------------

_BUTTON_EVENTS = frozenset({"template_card_event", "click"})


def _event(root: Element) -> WeComEvent | None:
    """The event for an inner message; None for events Jinlin ignores (subscribe, LOCATION reports, view ...)."""
    user_id = _child_text(root, "FromUserName").strip()
    msg_type = _child_text(root, "MsgType").strip()
    create_time = _child_text(root, "CreateTime").strip()
    if not user_id or not msg_type:
        raise CallbackRejected(400, "FromUserName or MsgType missing")
    if not _TIMESTAMP.fullmatch(create_time):
        raise CallbackRejected(400, "CreateTime missing or malformed")
    event = _child_text(root, "Event").strip() if msg_type == "event" else ""
    event_key = _child_text(root, "EventKey").strip()
    task_id = _child_text(root, "TaskId").strip()
    msg_id = _child_text(root, "MsgId").strip()
    base = WeComEvent(
        user_id=user_id, kind=WeComKind.OTHER, create_time=int(create_time),
        dedup_key=msg_id or f"{user_id}:{create_time}:{event}:{event_key or task_id}",
        agent_id=_child_text(root, "AgentID").strip(), msg_type=msg_type, event=event)
    if msg_type == "text":
        return replace(base, kind=WeComKind.TEXT, text=_child_text(root, "Content"))
    if msg_type in ("image", "voice"):
        kind = WeComKind.IMAGE if msg_type == "image" else WeComKind.VOICE
        return replace(base, kind=kind, media_id=_child_text(root, "MediaId").strip())
    if msg_type != "event":
        return base
    if event in _BUTTON_EVENTS:
        return replace(base, kind=WeComKind.BUTTON, token=event_key, task_id=task_id,
                       response_code=_child_text(root, "ResponseCode").strip())
    if event == "enter_agent":
        return replace(base, kind=WeComKind.ENTER)
    return None


def to_inbound(event: WeComEvent, language_hint: str = "") -> Inbound:
    """The neutral event for a WeCom event. WeCom does not tell a member's language: `language_hint` is the
    street's (its WeCom is run in that language), so that registration does not ask.

    Photos and voice notes carry the WeCom media id in `media_ref`; the channel downloads them (and replaces the
    reference with the local path) before the engine sees them. Entering the application (`enter_agent`) becomes
    an OTHER event, not "/start": the engine answers OTHER with the home prompt (menu, or registration on first
    contact) when nothing is under way, and re-asks the current question when a flow is, whereas "/start" would
    throw away a half-written report each time a member switches back to the application.
    """
    sender = Sender(CHANNEL, event.user_id, event.user_id, language_hint=language_hint)
    event_id = f"{CHANNEL}:{event.dedup_key}"
    if event.kind is WeComKind.TEXT:
        return text_inbound(sender, event.text, event_id)
    if event.kind is WeComKind.BUTTON:
        return Inbound(sender, InboundKind.BUTTON, token=event.token, event_id=event_id)
    if event.kind is WeComKind.IMAGE:
        return Inbound(sender, InboundKind.PHOTO, media_ref=event.media_id, event_id=event_id)
    if event.kind is WeComKind.VOICE:
        return Inbound(sender, InboundKind.VOICE, media_ref=event.media_id, event_id=event_id)
    return Inbound(sender, InboundKind.OTHER, event_id=event_id)
