"""A fetched page read: extraction kept off the event loop for big pages, and a notice completed with what
its attachments held (a deadline the body does not state)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
from dataclasses import replace
from typing import Any

from .attachments import Read
from .extract import extract
from .extract.notice import find_deadline
from .models import Extracted, Page

INLINE_CHARS = 256 * 1024  # pages read on the event loop: linear extraction keeps them to milliseconds
_reader = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="watcher-read")


async def read_page(page: Page, **options: Any) -> Extracted:
    """Extract a fetched page. A big one is read in the one reader thread (one, not a pool: each thread
    would grow its own malloc arena, and the work holds the GIL anyway), so a heavy page never holds the
    event loop: the daemon's other checks and /healthz go on meanwhile."""
    if len(page.text) <= INLINE_CHARS:
        return extract(page.text, page.final_url, page.encoding, **options)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(
        _reader, functools.partial(extract, page.text, page.final_url, page.encoding, **options)
    )


def with_attachments(x: Extracted, read: Read) -> Extracted:
    """The notice with its attachments as read; a deadline the body does not state is looked for in them,
    in order, and remembered with the attachment it came from."""
    rest = x.attachments[len(read.attachments) :]  # past `max_attachments`: listed, not read
    deadline, found_in = x.deadline, None
    if deadline is None:
        for label, text in read.labelled_texts:
            if found := find_deadline(text, x.date):
                deadline, found_in = found, label
                break
    return replace(
        x, attachments=read.attachments + rest, attachment_texts=read.texts + ("",) * len(rest),
        deadline=deadline, deadline_from=found_in,
    )  # fmt: skip
