-- Indexes for a street of tens of thousands of residents and a million reports: each query below finds its rows
-- by an index instead of reading the whole table (tests/core/test_query_plans.py checks the plans).

-- "my tasks": open reports located in the units of a leader's scope (status after unit_id, unlike issues_open_here).
CREATE INDEX issues_unit_status ON issues (unit_id, status);
-- reports by the day they were filed (counts and exports by date).
CREATE INDEX issues_created ON issues (created_at);
-- an account by the chat a platform names (a blocked bot is reported by chat id).
CREATE INDEX channel_accounts_chat ON channel_accounts (channel, chat_id);
-- who holds a role or a duty at a unit (routing a report, a notice's grid-member audience).
CREATE INDEX roles_unit ON roles (unit_id, role);
CREATE INDEX duties_unit ON duties (unit_id, duty);
