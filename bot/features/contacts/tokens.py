"""The button tokens of contacts: the reply button on a relayed message (`ct:re`), pressed from wherever the person
is, and the fixed buttons of the card, the message and the assignment flows."""

from __future__ import annotations

from bot.conversations.tokens import Ref, Token

REPLY = Token("ct:re", Ref)  # answer the message with this id
CODECS = (REPLY,)

EDIT_NAME = "cd:name"
EDIT_PROMISE = "cd:promise"
WRITE = "say:write"  # not "ct:": that prefix starts the flow afresh (REPLY)
