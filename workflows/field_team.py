"""The field team's part of a case's workflow: a dispatch or a reschedule holds the
technician's time before it is recorded, and a complaint attributed to a technician reviews
their complaint rate. Mixed into ``AfterSalesCase``, whose state, rules and ``_act`` /
``_notify`` it uses; kept apart so that the case's own workflow stays readable.
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.contracts import BOOK_TECHNICIAN, NOT_BOOKABLE, REVIEW_TECHNICIAN, TRIM_BOOKING
    from domain.case import ActionRequest, CaseState
    from domain.casework import Refused, check
    from domain.discipline import ComplaintReview, ReviewVerdict
    from domain.dispatch import BookingRequest, BookingTrim, work_order_id
    from domain.process import STEPS

from workflows.conventions import ILLEGAL_ACTION, LOCAL_WRITE, refusal


class FieldTeamWork:
    """The field-team steps of ``AfterSalesCase`` (which provides ``_case``, ``_rules``,
    ``_act``, ``_notify``, ``_hardened`` and ``_needs_attention``)."""

    async def _act_booked(self, request: ActionRequest) -> CaseState:
        """Dispatch or reschedule: hold the technician's time first, so that two desks can
        never book one slot; give it back if the case refuses the action after all (another
        action changed the stage while the booking was written)."""
        try:
            payload = check(self._case, request, self._rules, workflow.now())
        except Refused as refused:
            raise refusal(refused) from None
        window = (payload.window_start, payload.window_end)
        if request.action == "dispatch":
            technician, number, previous = payload.technician, len(self._case.work_orders) + 1, None
        else:
            order = self._case.current_order()
            technician, number, previous = order.technician, order.number, (order.window_start, order.window_end)
        work_order = work_order_id(self._case.case_no, number)
        booking = BookingRequest(technician=technician, work_order=work_order, window_start=window[0], window_end=window[1])
        try:
            await workflow.execute_activity(BOOK_TECHNICIAN, booking, **LOCAL_WRITE)
        except ActivityError as err:
            cause = err.cause
            verb = STEPS[request.action].verb
            if isinstance(cause, ApplicationError) and cause.type == NOT_BOOKABLE:
                raise ApplicationError(f"cannot {verb} case {self._case.case_no}: {cause.message}",
                                       type=ILLEGAL_ACTION, non_retryable=True) from None
            if not self._hardened():
                raise
            # The registry could not take the booking for good: nothing is booked, the desk
            # hears why, and a supervisor is told.
            self._needs_attention(f"the booking of {work_order} was not written", err)
            raise ApplicationError(
                f"cannot {verb} case {self._case.case_no}: the technician's time could not be booked "
                f"({self._case.attention[-1].error}); a supervisor has been told",
                type=ILLEGAL_ACTION, non_retryable=True,
            ) from None
        try:
            state = await self._act(request)
        except ApplicationError:
            await self._trim(technician, work_order, previous)  # the old window, or nothing
            raise
        if previous is not None:
            await self._trim(technician, work_order, window)  # the old window is free again
        return state

    async def _trim(self, technician: str, work_order: str, keep: tuple[datetime, datetime] | None) -> None:
        trim = BookingTrim(technician=technician, work_order=work_order, window_start=keep[0] if keep else None,
                           window_end=keep[1] if keep else None)
        try:
            await workflow.execute_activity(TRIM_BOOKING, trim, **LOCAL_WRITE)
        except ActivityError as err:
            if not self._hardened():
                raise
            self._needs_attention(f"the time {work_order} no longer needs was not freed", err)

    async def _review(self, technician: str, seq: int) -> None:
        """A complaint attributed to a technician may take their complaint rate over the
        policy's limit: then they are suspended (by the activity) and a supervisor is told."""
        review = ComplaintReview(technician=technician, case_no=self._case.case_no, seq=seq, at=workflow.now())
        try:
            verdict = await workflow.execute_activity(REVIEW_TECHNICIAN, review, result_type=ReviewVerdict,
                                                      **LOCAL_WRITE)
        except ActivityError as err:
            if not self._hardened():
                raise
            self._needs_attention(f"the complaint rate of {technician} was not reviewed", err)
            return
        if verdict.suspended:
            context = {"technician": technician, "reason": verdict.reason, "complaints": verdict.complaints,
                       "jobs": verdict.completed_jobs}
            await self._notify("supervisor", "technician_suspended", context, seq)
