"""The reminders job: payment reminders queued through the outbox, hence the contact policy.

Each run settles the open promises and the active plans first (so nothing already paid is
reminded, and an installment missed since the last run gets its "we did not receive" text), then
queues every reminder :func:`campaigns.reminders.due_reminders` says is due. The outbox job sends
them like the IVR's confirmations: consent, opt-outs and the calling window are checked when each
is sent, and a text the window defers goes out when it opens. A reminder's dedupe key makes it
once each, however often this runs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from campaigns.accounts import text_number
from campaigns.names import addressed_name
from campaigns.plan_settings import PlanSettings
from campaigns.plans import PlanCounts, evaluate_plans
from campaigns.promises import evaluate_promises
from campaigns.reminders import DueReminder, ReminderKind, due_reminders
from campaigns.sms import format_date, format_money, opt_out_notice, with_opt_out_notice
from dialer.messages import Sender
from dialer.outbox import SMS_REMINDER, enqueue_sms
from store.clock import Clock
from store.db import Database
from store.models import Account

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReminderReport:
    queued: int
    plans: PlanCounts


class PaymentReminders:
    """Queues the due payment reminders; one instance per worker."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        plans: PlanSettings,
        promise_grace_days: int,
        templates: Mapping[ReminderKind, Mapping[str, str]],
        sender: Sender,
    ) -> None:
        self.db = db
        self.clock = clock
        self.plans = plans
        self.promise_grace_days = promise_grace_days
        self.templates = templates
        self.sender = sender

    def run(self) -> ReminderReport:
        now = self.clock.now()
        with self.db.session() as session:
            evaluate_promises(session, now=now, grace_days=self.promise_grace_days)
            counts = evaluate_plans(session, self.plans, now=now)
        queued = 0
        with self.db.session() as session:
            for due in due_reminders(session, now=now, lead_days=self.plans.reminder_lead_days):
                number = text_number(session, due.account_id, None)
                account = session.get(Account, due.account_id)
                if number is None or account is None:
                    continue
                queued += enqueue_sms(
                    session,
                    account_id=due.account_id,
                    number=number,
                    body=self.text(due, account.name),
                    purpose=f"{due.kind}_reminder",
                    dedupe_key=due.dedupe_key,
                    now=now,
                    detail={"language": due.language, "ref_id": due.ref_id},
                    kind=SMS_REMINDER,
                )
        if queued:
            log.info("reminders: %d queued", queued)
        return ReminderReport(queued=queued, plans=counts)

    def text(self, due: DueReminder, name: str) -> str:
        """The reminder's words in the cardholder's language (English when the template has
        none), the debt-collector notice where configured and the opt-out notice appended."""
        language = due.language
        templates = self.templates[due.kind]
        template = templates.get(language) or templates["en-US"]
        sender = self.sender
        text = template.format(
            business_name=sender.business_name,
            callback_number=sender.callback_number,
            support_number=sender.support_number,
            first_name=addressed_name(name, language),
            amount=format_money(due.amount, due.currency, language),
            date=format_date(due.day, language),
            collector_disclosure=sender.collector_disclosure.get(language, ""),
        )
        collector = sender.collector_disclosure.get(language)
        if collector and collector not in text:
            text = with_opt_out_notice(text, collector)
        return with_opt_out_notice(text, opt_out_notice(sender.opt_out_notice, language))
