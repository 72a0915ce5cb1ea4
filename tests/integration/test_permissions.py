"""Issue 18 item 18: the permission table, enforced in the services, called as every role for every action.

For each row of ``core.permissions.PERMISSIONS`` and each role, every service function guarded by that
action is called as a real owner, admin or member of one workspace. Allowed: the call gets past the
check (it may still say NotFound or InvalidInput for the made-up ids used here, never PermissionDenied).
Refused: PermissionDenied, and the workspace's audit log has no new entry (nothing was done).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from redis import Redis
from sqlalchemy import func, select

from core.actor import Actor
from core.apikeys import service as apikeys
from core.auth import service as auth
from core.auth import team
from core.background import service as jobs
from core.db import UnitOfWork
from core.db.models import AuditEvent
from core.errors import LeadScoutError, PermissionDenied
from core.leads import csv_export, csv_import, insights, merge, trash
from core.leads import query as lead_query
from core.leads import service as leads
from core.monitoring import health, queues
from core.outreach import (
    address_checks,
    consent,
    draft_review,
    drafts,
    guard,
    message_log,
    preflight,
    sending_settings,
    suppression,
)
from core.outreach import service as outreach
from core.permissions import PERMISSIONS, ROLES, allowed
from core.replies import answer, inbox
from core.runs import analyses
from core.runs import service as runs
from core.scoring import outdated
from core.scoring import service as scoring
from core.sequences import enrolment as sequence_enrolment
from core.sequences import funnel as sequence_funnel
from core.sequences import service as sequences
from core.sequences.models import StepInput
from core.strategy import service as strategy
from core.webhooks import service as webhooks_service
from tests.conftest import make_owner, unique

NO = 987_654_321  # an id no workspace has
EVERYTHING = lead_query.LeadFilter()
LAZY_REDIS = Redis.from_url("redis://127.0.0.1:6379/8")  # never connected: the checks come first

Call = Callable[[Actor], Any]

CALLS: dict[str, list[Call]] = {
    "lead.view": [
        lambda a: lead_query.list_leads(actor=a, flt=EVERYTHING),
        lambda a: lead_query.count_leads(actor=a, flt=EVERYTHING),
        lambda a: lead_query.filter_options(actor=a),
        lambda a: lead_query.matching_names(actor=a, flt=EVERYTHING),
        lambda a: lead_query.list_leads_after(actor=a, flt=EVERYTHING),
        lambda a: leads.get_lead_detail_or_raise(actor=a, lead_id=NO),
        lambda a: insights.get_insights(actor=a),
        lambda a: merge.find_duplicates(actor=a),
        lambda a: outdated.count_outdated_scores(actor=a, flt=EVERYTHING),
    ],
    "lead.edit": [
        lambda a: address_checks.verify_contact(actor=a, contact_id=NO),
        lambda a: leads.update_lead(actor=a, lead_id=NO, status="new", owner_id=None, tags=[], notes=""),
        lambda a: leads.set_status(actor=a, lead_ids=[NO], status="qualified"),
        lambda a: leads.assign(actor=a, lead_ids=[NO], owner_id=None),
    ],
    "lead.rescore": [
        lambda a: leads.rescore(actor=a, lead_ids=[NO]),
        lambda a: outdated.rescore_outdated(actor=a, flt=lead_query.LeadFilter(lead_ids=(NO,))),
        lambda a: scoring.submit_rescore(actor=a, campaign_id=NO),
    ],
    "lead.recrawl": [lambda a: runs.recrawl_leads(actor=a, lead_ids=[NO])],
    "lead.import": [
        lambda a: csv_import.import_csv(actor=a, data=b""),
        lambda a: csv_import.submit_import(actor=a, data=b"", mapping={}),
        lambda a: csv_import.start_import(actor=a, data=b"", mapping={}),
        lambda a: csv_import.rejected_file_of_job(actor=a, job_id=NO),
    ],
    "lead.export": [lambda a: csv_export.export_csv(actor=a, flt=lead_query.LeadFilter(lead_ids=(NO,)))],
    "lead.delete": [lambda a: leads.delete_leads(actor=a, lead_ids=[NO])],
    "lead.merge": [lambda a: merge.merge_leads(actor=a, keep_id=NO, merge_ids=[NO + 1])],
    "lead.trash": [lambda a: trash.list_trash(actor=a), lambda a: trash.restore_leads(actor=a, lead_ids=[NO])],
    "campaign.view": [
        lambda a: strategy.list_campaigns(actor=a),
        lambda a: strategy.get_campaign(actor=a, campaign_id=NO),
        lambda a: strategy.get_campaign_or_raise(actor=a, campaign_id=NO),
        lambda a: strategy.list_versions(actor=a, campaign_id=NO),
        lambda a: strategy.latest_version(actor=a, campaign_id=NO),
        lambda a: runs.get_run_or_raise(actor=a, run_id=NO),
        lambda a: runs.list_runs(actor=a, campaign_id=NO),
        lambda a: runs.searches_this_month(actor=a),
    ],
    "campaign.edit": [
        lambda a: strategy.create_campaign_from_goal(actor=a, goal=""),
        lambda a: strategy.save_version(actor=a, campaign_id=NO, strategy=None),
        lambda a: strategy.approve(actor=a, campaign_id=NO, version_id=NO),
    ],
    "run.start": [
        lambda a: runs.start_run(actor=a, campaign_id=NO),
        lambda a: runs.start_run_from_urls(actor=a, campaign_id=NO, urls_text=""),
    ],
    "run.cancel": [lambda a: runs.cancel_run(actor=a, run_id=NO)],
    "site.analyse": [
        lambda a: analyses.start_analysis(actor=a, url="http://127.0.0.1/"),
        lambda a: analyses.get_analysis_or_raise(actor=a, analysis_id=NO),
        lambda a: analyses.cancel_analysis(actor=a, analysis_id=NO),
    ],
    "outreach.view": [
        lambda a: guard.list_paused_senders(actor=a),
        lambda a: outreach.list_templates(actor=a),
        lambda a: outreach.leads_for_outreach(actor=a),
        lambda a: message_log.list_messages(actor=a),
        lambda a: message_log.get_message_or_raise(actor=a, message_id=NO),
        lambda a: message_log.message_history(actor=a, message_id=NO),
        lambda a: message_log.leads_with_messages(actor=a),
        lambda a: message_log.lead_history(actor=a, lead_id=NO),
        lambda a: message_log.export_eml(actor=a, message_id=NO),
        lambda a: draft_review.preview_draft(actor=a, message_id=NO),
        lambda a: sending_settings.get_outreach_settings(actor=a),
        lambda a: suppression.list_suppressions(actor=a),
        lambda a: suppression.export_suppressions_csv(actor=a),
    ],
    "outreach.draft": [
        lambda a: outreach.save_template(actor=a, name="", channel="email", subject="", body=""),
        lambda a: outreach.preview(actor=a, template_id=NO, lead_ids=[NO]),
        lambda a: outreach.create_drafts(actor=a, template_id=NO, lead_ids=[NO]),
        lambda a: outreach.edit_draft(actor=a, message_id=NO, subject="s", body="b"),
        lambda a: drafts.start_ai_drafts(actor=a, lead_ids=[NO], channel="email"),
        lambda a: draft_review.send_test_to_me(actor=a, message_id=NO),
    ],
    "outreach.send": [
        lambda a: outreach.approve(actor=a, message_ids=[NO]),
        lambda a: outreach.queue_for_sending(actor=a, message_ids=[NO]),
        lambda a: outreach.send_now(actor=a, message_ids=[NO]),
        lambda a: preflight.preflight(actor=a, message_ids=[NO]),
    ],
    "outreach.log": [
        lambda a: message_log.mark_replied(actor=a, message_id=NO),
        lambda a: message_log.resolve_unknown(actor=a, message_id=NO, outcome="sent"),
        lambda a: message_log.requeue_failed(actor=a, message_id=NO),
    ],
    "outreach.settings": [
        lambda a: sending_settings.update_outreach_settings(actor=a, daily_cap="not a number"),
        lambda a: guard.resume_sender(actor=a, pause_id=NO),
    ],
    "suppression.add": [
        lambda a: suppression.add_suppression(actor=a, channel="email", address="not an address"),
        lambda a: suppression.import_suppressions_csv(actor=a, text=""),
    ],
    "suppression.remove": [
        lambda a: suppression.remove_suppression(actor=a, channel="email", address="x@nowhere.test")
    ],
    "consent.record": [lambda a: consent.record_sms_consent(actor=a, contact_id=NO, given=True)],
    "team.view": [lambda a: team.list_members(actor=a)],
    "team.manage": [
        lambda a: team.add_member(actor=a, email="not an email", role="member"),
        lambda a: team.pending_invitations(actor=a),
        lambda a: team.set_role(actor=a, user_id=NO, role="member"),
        lambda a: team.remove_member(actor=a, user_id=NO),
    ],
    "apikey.manage": [
        lambda a: apikeys.create_api_key(actor=a, name="", scopes=["read"]),
        lambda a: apikeys.list_api_keys(actor=a),
        lambda a: apikeys.revoke_api_key(actor=a, key_id=NO),
    ],
    "reply.view": [
        lambda a: inbox.list_replies(actor=a),
        lambda a: inbox.count_open(actor=a),
        lambda a: inbox.get_reply_or_raise(actor=a, reply_id=NO),
    ],
    "reply.act": [
        lambda a: inbox.set_reply_label(actor=a, reply_id=NO, label="other"),
        lambda a: inbox.act_on_reply(actor=a, reply_id=NO, action="handled"),
        lambda a: inbox.read_mailbox_now(actor=a),
        lambda a: answer.answer_reply(actor=a, reply_id=NO, body="Thanks!"),
    ],
    "sequence.view": [
        lambda a: sequences.list_sequences(actor=a),
        lambda a: sequences.get_sequence_or_raise(actor=a, sequence_id=NO),
        lambda a: sequence_enrolment.list_enrollments(actor=a, sequence_id=NO),
        lambda a: sequence_funnel.funnel(actor=a, sequence_id=NO),
        lambda a: sequence_funnel.all_funnels(actor=a),
    ],
    "sequence.edit": [
        lambda a: sequences.save_sequence(actor=a, name="", steps=[StepInput(channel="email")]),
        lambda a: sequences.set_sequence_status(actor=a, sequence_id=NO, status="paused"),
    ],
    "sequence.enrol": [
        lambda a: sequence_enrolment.enrol(actor=a, sequence_id=NO, lead_ids=[NO]),
        lambda a: sequence_enrolment.set_enrollment_status(actor=a, enrollment_id=NO, status="paused"),
        lambda a: sequence_enrolment.remove_from_sequence(actor=a, enrollment_id=NO),
    ],
    "webhook.manage": [
        lambda a: webhooks_service.list_endpoints(actor=a),
        lambda a: webhooks_service.get_endpoint_or_raise(actor=a, endpoint_id=NO),
        lambda a: webhooks_service.delete_endpoint(actor=a, endpoint_id=NO),
        lambda a: webhooks_service.list_deliveries(actor=a),
        lambda a: webhooks_service.redeliver(actor=a, delivery_id=NO),
    ],
    "job.manage": [lambda a: jobs.cancel(actor=a, job_id=NO), lambda a: jobs.retry(actor=a, job_id=NO)],
    "system.details": [lambda a: health.rq_jobs(actor=a, registry="failed")],
    "system.rq": [
        lambda a: queues.requeue_failed(actor=a, rq_id="no-such-job", connection=LAZY_REDIS),
        lambda a: queues.delete_failed(actor=a, rq_id="no-such-job", connection=LAZY_REDIS),
    ],
}


@pytest.fixture(scope="module")
def team_of_three() -> dict[str, Actor]:
    """One workspace with a real owner, admin and member (memberships in the database)."""
    owner = make_owner()
    actors = {"owner": owner}
    for role in ("admin", "member"):
        user_id = team.add_member(actor=owner, email=f"{unique(role)}@example.test", role=role)
        actors[role] = auth.actor_for(user_id=user_id, workspace_id=owner.workspace_id)
    assert {role: a.role for role, a in actors.items()} == {"owner": "owner", "admin": "admin", "member": "member"}
    return actors


def audit_count(workspace_id: int) -> int:
    with UnitOfWork() as uow:
        return uow.session.scalar(select(func.count()).where(AuditEvent.workspace_id == workspace_id)) or 0


def test_every_action_of_the_table_is_called_here_and_nothing_else():
    assert sorted(CALLS) == sorted(PERMISSIONS)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", sorted(PERMISSIONS))
def test_each_role_may_do_exactly_what_the_table_says(action, role, team_of_three):
    actor = team_of_three[role]
    for call in CALLS[action]:
        before = audit_count(actor.workspace_id)
        if allowed(role, action):
            try:
                call(actor)
            except PermissionDenied as exc:  # pragma: no cover - the failure this test exists for
                pytest.fail(f"{role} was refused {action}: {exc}")
            except LeadScoutError:
                pass  # got past the check; the made-up ids are then NotFound or InvalidInput
        else:
            with pytest.raises(PermissionDenied, match="needs the admin role"):
                call(actor)
            assert audit_count(actor.workspace_id) == before
