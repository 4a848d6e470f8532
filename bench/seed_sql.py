"""The ``INSERT ... SELECT generate_series`` statements of bench/seed.py: the tickets, their
first messages, the replies and internal notes, and the transitions."""

TICKETS_SQL = """
INSERT INTO tickets_ticket (
    id, number, subject, source, tier, state, version, first_response_due, resolution_due,
    first_responded_at, resolved_at, closed_at, reopen_count, state_changed_at, reminded_at,
    created_at, last_activity_at,
    assignee_id, department_id, follow_up_of_id, help_topic_id, priority_id, requester_id, sla_id,
    team_id, priority_rank)
SELECT
    -- Ids (and so numbers) in order of creation, as the help desk hands them out.
    row_number() OVER w, (100000 + row_number() OVER w)::text, subject, source, tier, state, 0,
    CASE WHEN state = 'open' THEN
        CASE WHEN overdue THEN now() - r_late * interval '6 hours'
            ELSE now() + (0.5 + r_due) * interval '1 day' END
    END,
    CASE
        WHEN state IN ('resolved', 'closed') THEN created_at + interval '18 hours'
        WHEN overdue THEN now() - r_late * interval '5 days'
        ELSE now() + (0.2 + r_due) * interval '10 days'
    END,
    CASE WHEN state <> 'open' AND assignee_id IS NOT NULL
        THEN created_at + (last_activity_at - created_at) * 0.1 END,
    CASE
        WHEN state = 'resolved' THEN last_activity_at
        WHEN state = 'closed' AND assignee_id IS NOT NULL
            THEN created_at + (last_activity_at - created_at) * 0.8
    END,
    CASE WHEN state = 'closed' THEN last_activity_at END,
    CASE WHEN r_reopen < 0.02 THEN 1 ELSE 0 END,
    -- The time of the last transition: intake for open tickets, the move to the state otherwise.
    CASE WHEN state = 'open' THEN created_at ELSE last_activity_at END,
    -- With the waiting profile, a requester waiting longer than the reminder delay was reminded.
    CASE WHEN %(waiting)s AND state = 'awaiting_user'
            AND last_activity_at < now() - %(remind_days)s * interval '1 day'
        THEN last_activity_at + %(remind_days)s * interval '1 day' END,
    created_at, last_activity_at,
    assignee_id, department_id, NULL, help_topic_id, priority_id, requester_id, sla_id, team_id,
    (SELECT p.rank FROM tickets_priority AS p WHERE p.id = priority_id)
FROM (
    SELECT l2.*,
        CASE
            WHEN state = 'open' THEN NULL
            WHEN state = 'assigned' AND r_assign >= 0.7 THEN NULL  -- assigned to the team only
            WHEN state = 'escalated' AND r_assign < 0.5 THEN NULL  -- not yet claimed
            WHEN state = 'closed' AND r_assign < 0.1 THEN NULL  -- cancelled before anyone took it
            WHEN team_id IS NOT NULL AND r_pick < 0.5
                THEN (%(team_agents)s::int[])[1 + floor(r_pick * 2 * cardinality(%(team_agents)s::int[]))]
            WHEN department_id = %(support)s
                THEN (%(support_agents)s::int[])[1 + floor(r_pick * cardinality(%(support_agents)s::int[]))]
            ELSE (%(sysadmin_agents)s::int[])[1 + floor(r_pick * cardinality(%(sysadmin_agents)s::int[]))]
        END AS assignee_id
    FROM (
        SELECT l1.*,
            state IN ('open', 'assigned', 'awaiting_user', 'in_progress', 'escalated')
                AND CASE WHEN %(exact)s THEN g %% %(overdue_every)s = %(overdue_every)s / 2
                    ELSE r_due < %(overdue)s END AS overdue,
            -- How late an overdue ticket is, as a share of 5 days: uniform below 1%%.
            CASE WHEN %(exact)s THEN r_due * 0.01 ELSE r_due END AS r_late,
            CASE
                WHEN state = 'escalated' THEN CASE WHEN r_dept < 0.5 THEN %(sysadmins)s ELSE %(support)s END
                WHEN r_dept < 0.75 THEN %(support)s
                ELSE %(sysadmins)s
            END AS department_id,
            CASE
                WHEN state = 'escalated' THEN CASE WHEN r_dept >= 0.5 OR r_team < 0.3 THEN %(team)s END
                WHEN state = 'assigned' AND r_assign >= 0.7 THEN %(team)s
                WHEN r_team < 0.1 THEN %(team)s
            END AS team_id,
            CASE
                WHEN state = 'escalated' THEN 2
                WHEN state IN ('closed', 'resolved', 'awaiting_user') AND r_team < 0.05 THEN 2
                ELSE 1
            END AS tier,
            now() - CASE
                WHEN state = 'closed' THEN r_time * interval '730 days'
                -- The waiting profile: each waiting ticket is at least the margin short of its
                -- next timer: awaiting the reminder, or reminded and awaiting the giving up; a
                -- resolved ticket awaiting the auto-close.
                WHEN %(waiting)s AND state = 'awaiting_user' THEN interval '1 day' * CASE
                    WHEN r_time * (%(remind_days)s + %(expire_days)s - 3 * %(margin)s)
                        < %(remind_days)s - %(margin)s
                        THEN r_time * (%(remind_days)s + %(expire_days)s - 3 * %(margin)s)
                    ELSE r_time * (%(remind_days)s + %(expire_days)s - 3 * %(margin)s) + 2 * %(margin)s
                END
                WHEN %(waiting)s AND state = 'resolved'
                    THEN r_time * (%(close_days)s - %(margin)s) * interval '1 day'
                ELSE r_time * interval '60 days'
            END AS last_activity_at,
            (%(subjects)s::text[])[1 + floor(r_subject * cardinality(%(subjects)s::text[]))]
                || (%(suffixes)s::text[])[1 + floor(r_suffix * cardinality(%(suffixes)s::text[]))]
                AS subject,
            CASE
                WHEN r_source < 0.6 THEN 'web' WHEN r_source < 0.9 THEN 'email'
                WHEN r_source < 0.98 THEN 'phone' ELSE 'api'
            END AS source,
            (%(topics)s::bigint[])[1 + floor(r_topic * cardinality(%(topics)s::bigint[]))] AS help_topic_id,
            CASE
                WHEN r_priority < 0.2 THEN %(low)s WHEN r_priority < 0.8 THEN %(normal)s
                WHEN r_priority < 0.95 THEN %(high)s ELSE %(emergency)s
            END AS priority_id,
            CASE
                WHEN r_sla < 0.8 THEN %(default_sla)s
                -- The other 20%% spread evenly over the other plans.
                ELSE (%(slas)s::bigint[])[1 + floor((r_sla - 0.8) / 0.2 * cardinality(%(slas)s::bigint[]))]
            END AS sla_id,
            CASE
                WHEN g %% %(karen_every)s = 0 THEN %(karen)s
                ELSE %(first_requester)s + floor(r_requester * %(requesters)s)::bigint
            END AS requester_id
        FROM (
            SELECT g,
                CASE
                    WHEN s < %(upto_closed)s THEN 'closed'
                    WHEN s < %(upto_open)s THEN 'open'
                    WHEN s < %(upto_assigned)s THEN 'assigned'
                    WHEN s < %(upto_awaiting_user)s THEN 'awaiting_user'
                    WHEN s < %(upto_in_progress)s THEN 'in_progress'
                    WHEN s < %(upto_escalated)s THEN 'escalated'
                    ELSE 'resolved'
                END AS state,
                r_due, r_dept, r_team, r_assign, r_pick, r_time, r_subject, r_suffix, r_source,
                r_topic, r_priority, r_sla, r_requester, r_reopen
            FROM (
                SELECT r.*,
                    -- Exact: ticket g of n takes the state its position falls in.
                    CASE WHEN %(exact)s THEN (g - 0.5)::float8 / %(n)s ELSE r_state END AS s
                FROM (
                    SELECT g, random() AS r_state, random() AS r_due, random() AS r_dept,
                        random() AS r_team, random() AS r_assign, random() AS r_pick, random() AS r_time,
                        random() AS r_subject, random() AS r_suffix, random() AS r_source,
                        random() AS r_topic, random() AS r_priority, random() AS r_sla,
                        random() AS r_requester, random() AS r_reopen
                    FROM generate_series(1, %(n)s) AS g
                ) AS r
            ) AS r2
        ) AS l1
    ) AS l2
) AS l3,
LATERAL (SELECT last_activity_at - (interval '1 hour' + random() * interval '20 days') AS created_at) AS c
WINDOW w AS (ORDER BY created_at, g)
ORDER BY created_at, g
"""

MESSAGES_SQL = """
INSERT INTO tickets_threadentry (kind, author_name, body, is_public, created_at, author_id, ticket_id)
SELECT 'message', r.name,
    (%(openings)s::text[])[1 + floor(random() * cardinality(%(openings)s::text[]))] || E'\\n\\n'
    || 'About "' || t.subject || '": '
    || (%(details)s::text[])[1 + floor(random() * cardinality(%(details)s::text[]))] || ' '
    || (%(more)s::text[])[1 + floor(random() * cardinality(%(more)s::text[]))]
    || CASE WHEN t.id %% %(rare_every)s = 7
        THEN ' The log mentions ' || %(rare)s || ' before it stops.' ELSE '' END
    || ' Reference ' || (1000000 + floor(random() * 9000000))::bigint || '.'
    || E'\\n\\n' || (%(closings)s::text[])[1 + floor(random() * cardinality(%(closings)s::text[]))]
    || E'\\n' || r.name,
    true, t.created_at, r.user_id, t.id
FROM tickets_ticket AS t JOIN tickets_requester AS r ON r.id = t.requester_id
"""

REPLIES_SQL = """
INSERT INTO tickets_threadentry (kind, author_name, body, is_public, created_at, author_id, ticket_id)
SELECT 'reply', u.first_name || ' ' || u.last_name,
    (%(replies)s::text[])[1 + floor(random() * cardinality(%(replies)s::text[]))],
    true, t.created_at + (t.last_activity_at - t.created_at) * 0.1, u.id, t.id
FROM tickets_ticket AS t JOIN auth_user AS u ON u.id = t.assignee_id
WHERE t.id %% 10 < 3
UNION ALL
SELECT 'note', u.first_name || ' ' || u.last_name,
    (%(notes)s::text[])[1 + floor(random() * cardinality(%(notes)s::text[]))],
    false, t.created_at + (t.last_activity_at - t.created_at) * 0.5, u.id, t.id
FROM tickets_ticket AS t JOIN auth_user AS u ON u.id = t.assignee_id
WHERE t.id %% 7 = 0
"""

TRANSITIONS_SQL = """
INSERT INTO tickets_tickettransition (
    name, source, target, actor_label, reason, created_at, actor_id, ticket_id)
SELECT 'create', '', 'new', r.name, '', t.created_at, r.user_id, t.id
FROM tickets_ticket AS t JOIN tickets_requester AS r ON r.id = t.requester_id
UNION ALL
SELECT 'intake', 'new', 'open', 'system: intake', '', t.created_at, NULL, t.id
FROM tickets_ticket AS t
UNION ALL
SELECT
    CASE WHEN t.state = 'closed' AND t.assignee_id IS NULL THEN 'cancel'
        ELSE (%(final)s::jsonb) ->> t.state END,
    CASE WHEN t.state = 'closed' AND t.assignee_id IS NOT NULL THEN 'resolved' ELSE 'open' END,
    t.state, coalesce(u.first_name || ' ' || u.last_name, 'System'), '', t.last_activity_at, u.id, t.id
FROM tickets_ticket AS t LEFT JOIN auth_user AS u ON u.id = t.assignee_id
WHERE t.state <> 'open'
"""
