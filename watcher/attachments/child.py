"""The worker process: `python -m watcher.attachments.child SECONDS MEGABYTES`, one attachment's bytes on
stdin, {"kind", "text", "pages"} or {"error"} as JSON on stdout.

Limits are set before any parser is imported: CPU seconds (RLIMIT_CPU), and an address-space ceiling
(RLIMIT_AS) at twice the memory limit as a backstop; the parent watches the resident size against the limit
itself (see worker.py), since an allocation refused deep inside a parser can leave the process hung rather
than failed.
"""

from __future__ import annotations

import json
import resource
import sys


def main(argv: list[str]) -> int:
    seconds, megabytes = float(argv[1]), int(argv[2])
    cpu = max(1, int(seconds + 0.999))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    ceiling = 2 * megabytes * 1024 * 1024 + 256 * 1024 * 1024  # the interpreter's own mappings on top
    resource.setrlimit(resource.RLIMIT_AS, (ceiling, ceiling))
    data = sys.stdin.buffer.read()

    from .formats import Unreadable, read  # the parsers load here, under the limits

    try:
        reading = read(data)
        result = {"kind": reading.kind, "text": reading.text, "pages": reading.pages}
    except Unreadable as exc:
        result = {"error": str(exc)}
    except MemoryError:
        result = {"error": f"needs more than {megabytes} MB of memory to read"}
    except RecursionError:
        result = {"error": "nested too deeply to read"}
    sys.stdout.write(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
