-- A saved conversation keeps the flow's data apart from the engine's part (the back trail, a paused flow, an
-- unregistered person's language): {"data": …, "trail": […], "paused": {"flow", "state", "data", "trail"} | null,
-- "locale": ""}. Rows saved before keep their place: their engine keys move out of the flow's data.
UPDATE conversations SET data = json_object(
    'data', json_remove(data, '$._trail', '$._resume', '$.locale', '$.token', '$.args', '$.payload'),
    'trail', json(coalesce(json_extract(data, '$._trail'), '[]')),
    'paused', CASE WHEN json_type(data, '$._resume') = 'object' THEN json_object(
        'flow', json_extract(data, '$._resume.flow'),
        'state', json_extract(data, '$._resume.state'),
        'data', json_remove(json_extract(data, '$._resume.data'), '$._trail', '$._resume', '$.locale'),
        'trail', json(coalesce(json_extract(data, '$._resume.data._trail'), '[]'))) END,
    'locale', coalesce(json_extract(data, '$.locale'), ''));
