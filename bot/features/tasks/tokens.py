"""The tasks flow's own buttons (a pushed task's `t:<action>:<id>` is reports' `TASK`, made where tasks are
pushed)."""

from __future__ import annotations

LIST = "t:list"  # the task page's way back to the list
DROP = "tk:drop"  # a step's own "cancel": don't do it, back to the task page (never the main menu)
DROP_YES, DROP_NO = "tk:drop:y", "tk:drop:n"
FINISH = "res:done"
HAND_UP = "up:yes"
