"""Writing an output file so that no reader sees half of it.

``write_atomic(path, write)`` is the one writer of the files tfgrad makes
(``run --save-npz``'s archive, ``check -o``'s report): a regular file, or
a new one, is written to a temporary file in the same directory, flushed to
disk and renamed over ``path``; a device, a FIFO or a terminal
(``/dev/null``, ``/dev/stdout``) is written directly, never replaced by a
regular file.
"""

from __future__ import annotations

import os
import stat
import tempfile
from typing import BinaryIO, Callable


def write_atomic(path: str, write: Callable[[BinaryIO], object]) -> None:
    """Call ``write(f)`` on a binary file that becomes ``path``.

    Permissions are those ``open(path, "w")`` would leave: an existing
    file's permission bits (``0o777``; its setuid, setgid and sticky bits
    are not carried to the new file, as a write by its owner clears the
    first two), a new file's ``0o666 & ~umask``. A symbolic link to a
    regular file stays a link: its target is replaced. Raises ``OSError``
    (a missing directory, no space...), leaving no temporary file behind
    and ``path`` as it was."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):
        with open(path, "wb") as f:
            write(f)
        return
    if st is not None and os.path.islink(path):
        path = os.path.realpath(path)
    if st is not None:
        mode = stat.S_IMODE(st.st_mode) & 0o777
    else:
        umask = os.umask(0)  # read it: os.umask is the only way, so set it back at once
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(prefix=".tfgrad-", suffix=".tmp",
                               dir=os.path.dirname(os.path.abspath(path)))
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
