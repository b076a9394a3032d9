"""Builds WeCom (企业微信) callback requests exactly as WeCom sends them, for tests.

Encryption is wechatpy's own (`PrpCrypto.encrypt`: 16 random bytes, the message length in network order, the
message, the corp id, PKCS#7 to 32 bytes, AES-256-CBC with the first 16 key bytes as IV, base64), so the code under
test is checked against an independent implementation. msg_signature is SHA1 over the sorted token, timestamp,
nonce and ciphertext. A POST is::

    query, body = encrypt_callback(TOKEN, AES_KEY, CORP_ID, text_xml("zhangsan", "你好"), timestamp, "n1")
    # POST /wecom/callback?msg_signature=...&timestamp=...&nonce=...  with `body` (Content-Type text/xml)

`query` holds decoded values: give it to an HTTP client as `params=` (which percent-encodes them) or to
`WeComCallback.open` directly.
"""

from __future__ import annotations

import base64
import hashlib

from wechatpy.enterprise.crypto import PrpCrypto

AGENT_ID = 1000002


def aes_key_bytes(aes_key: str) -> bytes:
    return base64.b64decode(aes_key + "=")


def make_aes_key(seed: bytes = b"jinlin") -> str:
    """A valid 43-character EncodingAESKey derived from `seed` (deterministic)."""
    return base64.b64encode(hashlib.sha256(seed).digest()).decode("ascii")[:43]


def sign(token: str, timestamp: int | str, nonce: str, encrypt: str) -> str:
    """WeCom's msg_signature: SHA1 (hex) of the sorted, concatenated token, timestamp, nonce and ciphertext."""
    parts = sorted([token, str(timestamp), nonce, encrypt])
    return hashlib.sha1("".join(parts).encode("utf-8")).hexdigest()


def encrypt(aes_key: str, receive_id: str, plaintext: str | bytes) -> str:
    """The base64 ciphertext WeCom would send for `plaintext`, framed with `receive_id` (the corp id)."""
    ciphertext: bytes = PrpCrypto(aes_key_bytes(aes_key)).encrypt(plaintext, receive_id)
    return ciphertext.decode("ascii")


def outer_xml(ciphertext: str, to_user: str, agent_id: int | None = AGENT_ID) -> bytes:
    """The POST body around a ciphertext (ToUserName is the corp id; AgentID as WeCom sends it)."""
    agent = f"<AgentID><![CDATA[{agent_id}]]></AgentID>" if agent_id is not None else ""
    return (f"<xml><ToUserName><![CDATA[{to_user}]]></ToUserName>{agent}"
            f"<Encrypt><![CDATA[{ciphertext}]]></Encrypt></xml>").encode()


def signed_query(token: str, timestamp: int | str, nonce: str, ciphertext: str) -> dict[str, str]:
    return {"msg_signature": sign(token, timestamp, nonce, ciphertext), "timestamp": str(timestamp), "nonce": nonce}


def encrypt_callback(token: str, aes_key: str, corp_id: str, inner_xml: str, timestamp: int, nonce: str,
                     *, agent_id: int | None = AGENT_ID) -> tuple[dict[str, str], bytes]:
    """(query, body) of the POST WeCom makes to deliver `inner_xml`."""
    ciphertext = encrypt(aes_key, corp_id, inner_xml)
    return signed_query(token, timestamp, nonce, ciphertext), outer_xml(ciphertext, corp_id, agent_id)


def url_verification_query(token: str, aes_key: str, corp_id: str, echostr: str, timestamp: int,
                           nonce: str) -> dict[str, str]:
    """The query of the GET WeCom makes when the callback URL is saved; the answer must be `echostr`."""
    ciphertext = encrypt(aes_key, corp_id, echostr)
    return {**signed_query(token, timestamp, nonce, ciphertext), "echostr": ciphertext}


# -- inner messages (the plaintext inside Encrypt) ---------------------------------------------------------------


def cdata(value: str) -> str:
    """`value` as CDATA, splitting any "]]>" so that it survives."""
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _message(fields: dict[str, str | int]) -> str:
    body = "".join(f"<{tag}>{value}</{tag}>" if isinstance(value, int) else f"<{tag}>{cdata(value)}</{tag}>"
                   for tag, value in fields.items())
    return f"<xml>{body}</xml>"


def _head(user: str, corp_id: str, create_time: int, msg_type: str) -> dict[str, str | int]:
    return {"ToUserName": corp_id, "FromUserName": user, "CreateTime": create_time, "MsgType": msg_type}


def text_xml(user: str, content: str, *, corp_id: str = "wwcorp", create_time: int = 1_700_000_000,
             msg_id: int = 1234567890123456, agent_id: int = AGENT_ID) -> str:
    return _message({**_head(user, corp_id, create_time, "text"), "Content": content, "MsgId": msg_id,
                     "AgentID": agent_id})


def image_xml(user: str, media_id: str, *, pic_url: str = "https://wework.qpic.cn/example/0", corp_id: str = "wwcorp",
              create_time: int = 1_700_000_000, msg_id: int = 1234567890123457, agent_id: int = AGENT_ID) -> str:
    return _message({**_head(user, corp_id, create_time, "image"), "PicUrl": pic_url, "MediaId": media_id,
                     "MsgId": msg_id, "AgentID": agent_id})


def voice_xml(user: str, media_id: str, *, voice_format: str = "amr", corp_id: str = "wwcorp",
              create_time: int = 1_700_000_000, msg_id: int = 1234567890123458, agent_id: int = AGENT_ID) -> str:
    return _message({**_head(user, corp_id, create_time, "voice"), "MediaId": media_id, "Format": voice_format,
                     "MsgId": msg_id, "AgentID": agent_id})


def location_xml(user: str, *, corp_id: str = "wwcorp", create_time: int = 1_700_000_000,
                 msg_id: int = 1234567890123459, agent_id: int = AGENT_ID) -> str:
    return _message({**_head(user, corp_id, create_time, "location"), "Location_X": "31.2304",
                     "Location_Y": "121.4737", "Scale": 15, "Label": "上海", "MsgId": msg_id, "AgentID": agent_id})


def template_card_event_xml(user: str, event_key: str, *, task_id: str = "task-1",
                            card_type: str = "button_interaction", response_code: str = "rc-1",
                            corp_id: str = "wwcorp", create_time: int = 1_700_000_000,
                            agent_id: int = AGENT_ID) -> str:
    """A template card button press (模板卡片事件推送): EventKey is the button's key."""
    return _message({**_head(user, corp_id, create_time, "event"), "Event": "template_card_event",
                     "EventKey": event_key, "TaskId": task_id, "CardType": card_type, "ResponseCode": response_code,
                     "AgentID": agent_id})


def menu_click_xml(user: str, event_key: str, *, corp_id: str = "wwcorp", create_time: int = 1_700_000_000,
                   agent_id: int = AGENT_ID) -> str:
    return _message({**_head(user, corp_id, create_time, "event"), "Event": "click", "EventKey": event_key,
                     "AgentID": agent_id})


def enter_agent_xml(user: str, *, corp_id: str = "wwcorp", create_time: int = 1_700_000_000,
                    agent_id: int = AGENT_ID) -> str:
    return _message({**_head(user, corp_id, create_time, "event"), "Event": "enter_agent", "EventKey": "",
                     "AgentID": agent_id})


def event_xml(user: str, event: str, *, corp_id: str = "wwcorp", create_time: int = 1_700_000_000,
              agent_id: int = AGENT_ID, **fields: str) -> str:
    """Any other event (subscribe, LOCATION, view ...), with extra fields as CDATA."""
    return _message({**_head(user, corp_id, create_time, "event"), "Event": event, **fields, "AgentID": agent_id})

