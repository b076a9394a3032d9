-- 党员中心户: a party member holds the role party_member at their party-household unit (invited like any grid
-- member). The roles table is rebuilt to let the new role past its CHECK; rows and the index stay.

CREATE TABLE roles_new (
    person_id INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    role      TEXT NOT NULL CHECK (role IN ('building_leader', 'complex_secretary', 'community_secretary',
                                            'street_admin', 'party_member')),
    unit_id   INTEGER NOT NULL REFERENCES grid_units (id),
    PRIMARY KEY (person_id, role, unit_id)
);
INSERT INTO roles_new (person_id, role, unit_id) SELECT person_id, role, unit_id FROM roles;
DROP TABLE roles;
ALTER TABLE roles_new RENAME TO roles;
CREATE INDEX roles_unit ON roles (unit_id, role);
