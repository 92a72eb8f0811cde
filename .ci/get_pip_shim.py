#!/usr/bin/env python
"""Offline stand-in for ansible-test's get-pip bootstrap script.

ansible-test downloads ``get-pip-<ver>.py`` from ansible's CI file host, which this
project's machines cannot reach.  It first looks for a cached copy at
``~/.ansible/test/cache/get_pip_<ver>.py``; the CI scripts install this file there
(for the pip version that the installed ansible-test asks for).

ansible-test runs it (through runpy, as ``__main__``) with pip-install style arguments,
e.g. ``--disable-pip-version-check pip==24.2 --no-setuptools --no-wheel``.  We:

1. bootstrap pip with ``ensurepip`` in a *subprocess* (in-process ensurepip sets
   PIP_CONFIG_FILE=/dev/null in os.environ, which would drop the machine's pip.conf,
   including its CA bundle, for the following install);
2. ``pip install --upgrade`` the requested packages (minus get-pip-only flags);
3. remove setuptools/wheel if ansible-test asked for an environment without them.
"""

import subprocess
import sys

GET_PIP_ONLY_FLAGS = ('--no-setuptools', '--no-wheel', '--no-pip')


def main(argv):
    no_setuptools = '--no-setuptools' in argv
    no_wheel = '--no-wheel' in argv
    pip_args = [arg for arg in argv if arg not in GET_PIP_ONLY_FLAGS]

    subprocess.check_call([sys.executable, '-m', 'ensurepip', '--upgrade', '--default-pip'])
    subprocess.check_call([sys.executable, '-m', 'pip', 'install', '--upgrade'] + pip_args)

    remove = []
    if no_setuptools:
        remove.append('setuptools')
    if no_wheel:
        remove.append('wheel')
    if remove:
        # Not installed is fine: pip only warns ("Skipping ... as it is not installed").
        subprocess.check_call([sys.executable, '-m', 'pip', 'uninstall', '--yes', '--disable-pip-version-check'] + remove)
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main(sys.argv[1:]))
    except subprocess.CalledProcessError as exc:
        sys.stderr.write('get-pip stand-in: %s\n' % exc)
        sys.exit(exc.returncode or 1)
