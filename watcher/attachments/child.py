"""The worker process: `python -m watcher.attachments.child SECONDS MEGABYTES`.

It reads attachments one after another from stdin, each as an 8-byte length and the bytes, and answers
each with an 8-byte length and {"kind", "text", "pages"} or {"error"} as JSON; it ends at end of input.
Limits are set before any parser is imported: before each file, CPU time (RLIMIT_CPU, moved on by
SECONDS from what the process has used so far); for the whole process, an address-space ceiling at twice
the memory limit as a backstop. The parent watches the resident size against the limit itself (worker.py),
since an allocation refused deep inside a parser can leave the process hung rather than failed.
"""

from __future__ import annotations

import json
import resource
import sys


def main(argv: list[str]) -> int:
    seconds, megabytes = float(argv[1]), int(argv[2])
    ceiling = 2 * megabytes * 1024 * 1024 + 256 * 1024 * 1024  # the interpreter's own mappings on top
    resource.setrlimit(resource.RLIMIT_AS, (ceiling, ceiling))
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer

    from ..errors import Unreadable
    from .formats import read  # the parsers load here, under the ceiling

    while len(header := stdin.read(8)) == 8:
        data = stdin.read(int.from_bytes(header, "big"))
        usage = resource.getrusage(resource.RUSAGE_SELF)
        allowed = int(usage.ru_utime + usage.ru_stime + seconds) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (allowed, resource.RLIM_INFINITY))
        try:
            reading = read(data)
            result = {"kind": reading.kind, "text": reading.text, "pages": reading.pages}
        except Unreadable as exc:
            result = {"error": str(exc)}
        except MemoryError:
            result = {"error": f"needs more than {megabytes} MB of memory to read"}
        except RecursionError:
            result = {"error": "nested too deeply to read"}
        answer = json.dumps(result, ensure_ascii=False).encode("utf-8")
        stdout.write(len(answer).to_bytes(8, "big") + answer)
        stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
