# Copyright (c) 2026, tickstack maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One advisory lock per Kapacitor server on the host that runs the module.

Kapacitor has no lock of its own: two jobs that retry the same failed runs at the same time would both
retry them. ``ServerLock`` serialises every ``kapacitor_task_run_retry`` call for one base URL on one host
(``fcntl.flock`` on ``<tmp>/tickstack-kapacitor-locks/<sha256 of the URL, 16 hex>.lock``). The lock is tied to
the open file, so it is released when the process ends, however it ends.
"""


import errno
import fcntl
import hashlib
import os
import tempfile
import time

from ansible_collections.tickstack.kapacitor.plugins.module_utils._errors import KapacitorError

LOCK_DIR_NAME = 'tickstack-kapacitor-locks'
POLL_SECONDS = 0.1


class LockTimeout(KapacitorError):
    """The lock was still held by another process after ``timeout`` seconds."""

    def __init__(self, message, path, timeout):
        super().__init__(message)
        self.path = path
        self.timeout = timeout


def lock_path(base_url, directory=None):
    """The lock file of one Kapacitor base URL (credential-free, as ``parse_base_url`` returns it)."""
    directory = directory or os.path.join(tempfile.gettempdir(), LOCK_DIR_NAME)
    return os.path.join(directory, hashlib.sha256(base_url.encode('utf-8')).hexdigest()[:16] + '.lock')


class ServerLock:
    """``with ServerLock(base_url, timeout) as lock:`` holds the lock of that server; ``lock.waited`` is how many
    seconds it took to get it and ``lock.contended`` whether another process held it when we asked."""

    def __init__(self, base_url, timeout, directory=None, clock=time.monotonic, sleep=time.sleep):
        self.path = lock_path(base_url, directory)
        self.timeout = timeout
        self.waited = 0.0
        self.contended = False
        self._clock = clock
        self._sleep = sleep
        self._fd = None

    def _open(self):
        directory = os.path.dirname(self.path)
        try:
            os.makedirs(directory)
            os.chmod(directory, 0o1777)  # every user of the host shares it, as /tmp itself (sticky)
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                raise
        flags = os.O_CREAT | getattr(os, 'O_NOFOLLOW', 0)
        try:
            fd = os.open(self.path, os.O_RDWR | flags, 0o666)
        except OSError as exc:
            if exc.errno not in (errno.EACCES, errno.EPERM):
                raise
            fd = os.open(self.path, os.O_RDONLY | getattr(os, 'O_NOFOLLOW', 0))  # flock needs no write access
        try:
            os.fchmod(fd, 0o666)  # any user may lock it (the umask narrowed the mode); only the owner can change it
        except OSError:
            pass
        return fd

    def acquire(self):
        try:
            self._fd = self._open()
        except OSError as exc:
            raise KapacitorError('cannot open the lock file %s: %s. Set lock: false to run without it (overlapping '
                                 'jobs may then retry a run twice)' % (self.path, exc.strerror or exc)) from None
        start = self._clock()
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    self.release()
                    raise KapacitorError('cannot lock %s: %s' % (self.path, exc)) from None
            self.contended = True
            self.waited = round(self._clock() - start, 3)
            if self.waited >= self.timeout:
                self.release()
                raise LockTimeout('another kapacitor_task_run_retry on this host still held the lock of this Kapacitor '
                                  'server (%s) after lock_timeout (%s s); nothing was sent. Raise lock_timeout, or find '
                                  'the job that holds it (for example with: fuser %s)'
                                  % (self.path, self.timeout, self.path), self.path, self.timeout)
            self._sleep(POLL_SECONDS)
        self.waited = round(self._clock() - start, 3)
        return self

    def release(self):
        if self._fd is not None:
            os.close(self._fd)  # closing the file releases the flock
            self._fd = None

    def as_dict(self):
        return {'path': self.path, 'waited': self.waited}

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc_info):
        self.release()
