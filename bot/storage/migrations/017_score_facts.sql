-- Scorecards' per-report facts: one row per report with what its figures are made of, kept by the triggers below
-- in the same statement as every change to issues, issue_events and score_exclusions (no code path can forget it),
-- and backfilled here from the audit trail. The period figures read one covering index instead of joining each
-- report's events (bot/features/scorecards/store.py; the definitions are in its service's docstring).

CREATE TABLE score_facts (
    issue_id      INTEGER PRIMARY KEY REFERENCES issues (id) ON DELETE CASCADE,
    unit_id       INTEGER NOT NULL,               -- where it is (issues.unit_id, never changed)
    created_at    TEXT NOT NULL,                  -- filed (issues.created_at)
    created_day   REAL NOT NULL,                  -- julianday(created_at)
    category      TEXT NOT NULL,
    status        TEXT NOT NULL,                  -- issues.status now
    rating        INTEGER,                        -- issues.rating now
    owner_street  INTEGER NOT NULL,               -- its owner now is the street level (not 小事不出社区)
    due_at        TEXT NOT NULL,                  -- the current owner's deadline (issues.due_at), for 超期
    excluded      INTEGER NOT NULL DEFAULT 0,     -- left out of scoring (a score_exclusions row)
    routed_level  TEXT,                           -- the level the first routing decision gave it to
    deadline      REAL,                           -- julianday: that decision + that moment's limit for the level;
                                                  -- NULL: never routed (not scored)
    accepted_at   REAL,                           -- julianday of the first accepted (or resolved) transition
    resolved_at   REAL,                           -- julianday of the first resolved transition
    reopens       INTEGER NOT NULL DEFAULT 0,     -- "not fixed" answers
    fixed_answers INTEGER NOT NULL DEFAULT 0,     -- closed by the resident's rating, or "stayed fixed"
    is_repeat     INTEGER NOT NULL DEFAULT 0      -- an earlier report of the reporter, category, place in 60 days
);

-- the whole street's period (by filing time) and one unit's places (by place, then filing time), each covering
-- every column the counts read; open reports not excluded, by place and current deadline (超期).
CREATE INDEX score_facts_period ON score_facts (created_at, unit_id, status, excluded, deadline, accepted_at,
    resolved_at, rating, reopens, fixed_answers, is_repeat, created_day, owner_street);
CREATE INDEX score_facts_places ON score_facts (unit_id, created_at, status, excluded, deadline, accepted_at,
    resolved_at, rating, reopens, fixed_answers, is_repeat, created_day, owner_street);
CREATE INDEX score_facts_overdue ON score_facts (unit_id, due_at)
    WHERE excluded = 0 AND status IN ('accepted', 'assigned', 'escalated', 'reopened', 'submitted');

-- The reports there are: their first routing decision's level read from its recorded text (new ones take it from
-- the report's owner as the decision is written), the rest from the audit trail as bot/features/scorecards read it.
INSERT INTO score_facts (issue_id, unit_id, created_at, created_day, category, status, rating, owner_street, due_at,
                         excluded, is_repeat)
    SELECT i.id, i.unit_id, i.created_at, julianday(i.created_at), i.category, i.status, i.rating,
        COALESCE((SELECT o.level = 'street' FROM grid_units o WHERE o.id = i.owner_unit_id), 0), i.due_at,
        EXISTS (SELECT 1 FROM score_exclusions x WHERE x.issue_id = i.id),
        i.reporter_id IS NOT NULL AND EXISTS (
            SELECT 1 FROM issues j WHERE j.reporter_id = i.reporter_id AND j.category = i.category
              AND j.unit_id = i.unit_id AND j.created_at < i.created_at
              AND j.created_at >= strftime('%Y-%m-%dT%H:%M:%f', i.created_at, '-60 days'))
    FROM issues i;
UPDATE score_facts SET (accepted_at, resolved_at, reopens, fixed_answers) = (
    SELECT julianday(MIN(CASE WHEN e.kind = 'transition' AND e.to_status IN ('accepted', 'resolved') THEN e.at END)),
        julianday(MIN(CASE WHEN e.kind = 'transition' AND e.to_status = 'resolved' THEN e.at END)),
        TOTAL(e.kind = 'transition' AND e.to_status = 'reopened'),
        TOTAL((e.kind = 'transition' AND e.to_status = 'closed' AND e.actor_id IS NOT NULL)
              OR e.kind = 'stayed_fixed')
    FROM issue_events e WHERE e.issue_id = score_facts.issue_id);
UPDATE score_facts SET (routed_level, deadline) = (
    SELECT r.level, julianday(r.at) + (CASE r.level WHEN 'building' THEN c.limit_building_h
            WHEN 'complex' THEN c.limit_complex_h WHEN 'community' THEN c.limit_community_h
            ELSE c.limit_street_h END) / 24.0
    FROM (SELECT e.at, CASE WHEN instr(e.detail, ' (building);') THEN 'building'
                            WHEN instr(e.detail, ' (complex);') THEN 'complex'
                            WHEN instr(e.detail, ' (community);') THEN 'community' ELSE 'street' END AS level
          FROM issue_events e WHERE e.issue_id = score_facts.issue_id AND e.kind = 'route'
          ORDER BY e.id LIMIT 1) r
    JOIN categories c ON c.code = score_facts.category);

-- A report filed: its place, time, category and owner; a repeat if its reporter filed the same category at the
-- same place in the 60 days before.
CREATE TRIGGER score_facts_filed AFTER INSERT ON issues BEGIN
    INSERT INTO score_facts (issue_id, unit_id, created_at, created_day, category, status, rating, owner_street, due_at,
                             is_repeat)
    VALUES (NEW.id, NEW.unit_id, NEW.created_at, julianday(NEW.created_at), NEW.category, NEW.status, NEW.rating,
        COALESCE((SELECT o.level = 'street' FROM grid_units o WHERE o.id = NEW.owner_unit_id), 0), NEW.due_at,
        NEW.reporter_id IS NOT NULL AND EXISTS (
            SELECT 1 FROM issues j WHERE j.reporter_id = NEW.reporter_id AND j.category = NEW.category
              AND j.unit_id = NEW.unit_id AND j.created_at < NEW.created_at
              AND j.created_at >= strftime('%Y-%m-%dT%H:%M:%f', NEW.created_at, '-60 days')));
END;
-- Its status, rating, owner or current deadline changed.
CREATE TRIGGER score_facts_changed AFTER UPDATE OF status, rating, owner_unit_id, due_at ON issues BEGIN
    UPDATE score_facts SET status = NEW.status, rating = NEW.rating, due_at = NEW.due_at,
        owner_street = COALESCE((SELECT o.level = 'street' FROM grid_units o WHERE o.id = NEW.owner_unit_id), 0)
    WHERE issue_id = NEW.id;
END;
-- The first routing decision fixes the deadline: the owner it names (the report's owner as it is written, at
-- filing) and that level's limit for the category at that moment.
CREATE TRIGGER score_facts_routed AFTER INSERT ON issue_events WHEN NEW.kind = 'route' BEGIN
    UPDATE score_facts SET (routed_level, deadline) = (
        SELECT o.level, julianday(NEW.at) + (CASE o.level WHEN 'building' THEN c.limit_building_h
                WHEN 'complex' THEN c.limit_complex_h WHEN 'community' THEN c.limit_community_h
                ELSE c.limit_street_h END) / 24.0
        FROM issues i JOIN grid_units o ON o.id = i.owner_unit_id JOIN categories c ON c.code = i.category
        WHERE i.id = NEW.issue_id)
    WHERE issue_id = NEW.issue_id AND deadline IS NULL;
END;
-- Accepted, resolved (the earliest of each), reopened ("not fixed") or closed by the resident's rating ("fixed").
CREATE TRIGGER score_facts_moved AFTER INSERT ON issue_events
WHEN NEW.kind = 'transition' AND (NEW.to_status IN ('accepted', 'resolved', 'reopened')
                                  OR (NEW.to_status = 'closed' AND NEW.actor_id IS NOT NULL)) BEGIN
    UPDATE score_facts SET
        accepted_at = CASE WHEN NEW.to_status IN ('accepted', 'resolved')
                           THEN min(COALESCE(accepted_at, julianday(NEW.at)), julianday(NEW.at))
                           ELSE accepted_at END,
        resolved_at = CASE WHEN NEW.to_status = 'resolved'
                           THEN min(COALESCE(resolved_at, julianday(NEW.at)), julianday(NEW.at))
                           ELSE resolved_at END,
        reopens = reopens + (NEW.to_status = 'reopened'),
        fixed_answers = fixed_answers + (NEW.to_status = 'closed')
    WHERE issue_id = NEW.issue_id;
END;
CREATE TRIGGER score_facts_stayed_fixed AFTER INSERT ON issue_events WHEN NEW.kind = 'stayed_fixed' BEGIN
    UPDATE score_facts SET fixed_answers = fixed_answers + 1 WHERE issue_id = NEW.issue_id;
END;
CREATE TRIGGER score_facts_excluded AFTER INSERT ON score_exclusions BEGIN
    UPDATE score_facts SET excluded = 1 WHERE issue_id = NEW.issue_id;
END;
CREATE TRIGGER score_facts_included AFTER DELETE ON score_exclusions BEGIN
    UPDATE score_facts SET excluded = 0 WHERE issue_id = OLD.issue_id;
END;
