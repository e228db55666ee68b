"""Alerts: who hears what (plan), how it reads (message), and the outbox sender (send).

Change ─ Planner.plan ─▶ outbox rows, written with the change ─ Sender.flush ─▶ apprise ─▶ marked sent
"""

from .message import AlertData, Message, render
from .plan import Planner, plan_reminders
from .send import Delivery, FlushReport, Sender
from .subscribers import AlertSettings, Channel, Subscriber, mask_url

__all__ = [
    "AlertData",
    "AlertSettings",
    "Channel",
    "Delivery",
    "FlushReport",
    "Message",
    "Planner",
    "Sender",
    "Subscriber",
    "mask_url",
    "plan_reminders",
    "render",
]
